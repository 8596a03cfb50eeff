"""The course's "RNN step by step" cell cases recomputed with plain numpy: the values
tests/test_recurrent.cpp expects must come out of them. Run by CTest as `rnn_reference`."""
import sys

import numpy as np
def softmax(x): e = np.exp(x - np.max(x, axis=0)); return e / e.sum(axis=0)
def sigmoid(x): return 1/(1+np.exp(-x))
np.random.seed(1)
xt = np.random.randn(3,10); a_prev = np.random.randn(5,10)
Waa = np.random.randn(5,5); Wax = np.random.randn(5,3); Wya = np.random.randn(2,5)
ba = np.random.randn(5,1); by = np.random.randn(2,1)
a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba); y = softmax(Wya @ a_next + by)
checks = [("rnn a_next[4]", a_next[4], [0.59584544, 0.18141802, 0.61311866, 0.99808218, 0.85016201, 0.99980978,
                                        -0.18887155, 0.99815551, 0.6531151, 0.82872037]),
          ("rnn y[1]", y[1], [0.9888161, 0.01682021, 0.21140899, 0.36817467, 0.98988387, 0.88945212, 0.36920224,
                              0.9966312, 0.9982559, 0.17746526])]
np.random.seed(1)
xt = np.random.randn(3,10); a_prev = np.random.randn(5,10); c_prev = np.random.randn(5,10)
Wf = np.random.randn(5,5+3); bf = np.random.randn(5,1)
Wi = np.random.randn(5,5+3); bi = np.random.randn(5,1)
Wo = np.random.randn(5,5+3); bo = np.random.randn(5,1)
Wc = np.random.randn(5,5+3); bc = np.random.randn(5,1)
Wy = np.random.randn(2,5); by = np.random.randn(2,1)
concat = np.concatenate([a_prev, xt], axis=0)
ft = sigmoid(Wf@concat+bf); it = sigmoid(Wi@concat+bi); cct = np.tanh(Wc@concat+bc)
c_next = ft*c_prev + it*cct; ot = sigmoid(Wo@concat+bo); a_next = ot*np.tanh(c_next); yt = softmax(Wy@a_next+by)
checks += [("lstm a_next[4]", a_next[4], [-0.66408471, 0.0036921, 0.02088357, 0.22834167, -0.85575339, 0.00138482,
                                          0.76566531, 0.34631421, -0.00215674, 0.43827275]),
           ("lstm c_next[2]", c_next[2], [0.63267805, 1.00570849, 0.35504474, 0.20690913, -1.64566718, 0.11832942,
                                          0.76449811, -0.0981561, -0.74348425, -0.26810932]),
           ("lstm yt[1]", yt[1], [0.79913913, 0.15986619, 0.22412122, 0.15606108, 0.97057211, 0.31146381, 0.00943007,
                                  0.12666353, 0.39380172, 0.07828381])]
failures = 0
for name, got, expected in checks:
    ok = np.allclose(got, expected, rtol=0, atol=5e-9)  # the assignment prints 8 decimals
    print(f"{name}: {'ok' if ok else 'MISMATCH'}")
    failures += not ok
sys.exit(1 if failures else 0)
