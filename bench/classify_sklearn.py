#!/usr/bin/env python3
"""classify_sklearn.py — the scikit-learn side of bench/classify.sh: fits a
RandomForestClassifier (100 trees, like the original system) on dql's
feature vectors of labelled names, then times predict_proba one row at a
time (on the first K rows) and on all rows in one batch. Prints
"sklearn-stream RATE" and "sklearn-batch RATE" (names per second of CPU
time) with a short description.
Usage: classify_sklearn.py TRAIN.tsv SCORE.tsv K"""
import sys, time
import numpy as np
from sklearn.ensemble import RandomForestClassifier

train, score, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
tr = np.loadtxt(train, delimiter='\t', ndmin=2)
y, X = tr[:, 0], tr[:, 1:]
rf = RandomForestClassifier(n_estimators=100, random_state=1, n_jobs=1).fit(X, y)
S = np.loadtxt(score, delimiter='\t', ndmin=2)
t0 = time.process_time()
for i in range(min(k, len(S))):
    rf.predict_proba(S[i:i + 1])
dt = time.process_time() - t0
print('sklearn-stream %.1f names/s (%.3f ms a name, %d rows one at a time)' % (min(k, len(S)) / dt, dt / min(k, len(S)) * 1e3, min(k, len(S))))
t0 = time.process_time()
rf.predict_proba(S)
dt = time.process_time() - t0
print('sklearn-batch %.1f names/s (%d rows in one predict_proba)' % (len(S) / dt, len(S)))
