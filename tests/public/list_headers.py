#!/usr/bin/env python3
"""Lists corio's public headers (as they are included: corio/task.hpp, ...), one per line.

  list_headers.py INCLUDE_DIR               print the headers that must compile alone
  list_headers.py INCLUDE_DIR --expect A,B  exit 1 unless exactly A,B are there (a test:
                                            a header added since Meson last configured
                                            would escape the compile-alone check)
"""
import os
import sys

# Fragments that are only ever included at the end of another header, never by users.
FRAGMENTS = {
    'corio/detail/combinators.hpp',  # the tail of corio/task.hpp
}


def headers(include_dir):
    found = []
    for root, _, files in os.walk(os.path.join(include_dir, 'corio')):
        for f in files:
            if f.endswith('.hpp'):
                rel = os.path.relpath(os.path.join(root, f), include_dir).replace(os.sep, '/')
                if rel not in FRAGMENTS:
                    found.append(rel)
    return sorted(found)


def main(argv):
    found = headers(argv[1])
    if len(argv) > 3 and argv[2] == '--expect':
        expected = sorted(h for h in argv[3].split(',') if h)
        if found != expected:
            added = sorted(set(found) - set(expected))
            removed = sorted(set(expected) - set(found))
            print('public headers changed since configure; re-run meson setup --reconfigure')
            print('  added:   ' + ' '.join(added))
            print('  removed: ' + ' '.join(removed))
            return 1
        print('%d public headers, all checked' % len(found))
        return 0
    print('\n'.join(found))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
