#!/bin/sh
# make-words.sh — derives data/words.txt, the dictionary of the classifier's
# segmentation features, from Debian's wamerican list (/usr/share/dict/
# american-english, SCOWL-derived, permissive licence): lower-case words of
# 3 or more letters a-z (no proper nouns, no possessives), sorted, unique.
# The list ships in the tree, so building and running dql need no package;
# rerun only to change the list (then retrain: the model holds a copy).
# Usage: tools/make-words.sh [wordlist] > data/words.txt
set -eu
src=${1:-/usr/share/dict/american-english}
LC_ALL=C grep -E '^[a-z]{3,}$' "$src" | LC_ALL=C sort -u
