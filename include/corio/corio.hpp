// corio: Python's asyncio in C++20. The umbrella header: includes every public area.
// corio's own sources never include it; they include the one header they need.
#pragma once

#include <corio/errors.hpp>
#include <corio/runtime.hpp>
#include <corio/sync.hpp>
#include <corio/task.hpp>

// Areas still being written; each is included as soon as its header exists.
#if __has_include(<corio/net.hpp>)
#include <corio/net.hpp>
#endif
#if __has_include(<corio/fs.hpp>)
#include <corio/fs.hpp>
#endif
#if __has_include(<corio/signal.hpp>)
#include <corio/signal.hpp>
#endif
#if __has_include(<corio/subprocess.hpp>)
#include <corio/subprocess.hpp>
#endif
