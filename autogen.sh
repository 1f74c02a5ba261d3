#!/bin/sh
# autogen.sh — generates configure and Makefile.in from configure.ac and
# Makefile.am (needs autoconf >= 2.69, automake >= 1.16, pkg-config).
# Then: ./configure && make -j2 && make -j2 check
set -e
cd "$(dirname "$0")"
autoreconf -fi
