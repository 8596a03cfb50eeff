"""The course's "CNN step by step" cases recomputed with plain numpy loops (no xgrad): every value
tests/test_cnn.cpp expects must come out of them. Run by CTest as `cnn_reference`."""
import sys

import numpy as np
def pad(X, p): return np.pad(X, ((0,0),(p,p),(p,p),(0,0)))
def conv_fwd(A, W, b, s, p):
    m, H, Wd, C = A.shape; f, _, _, Co = W.shape
    Hn = (H + 2*p - f)//s + 1; Wn = (Wd + 2*p - f)//s + 1
    Ap = pad(A, p); Z = np.zeros((m, Hn, Wn, Co))
    for i in range(m):
        for h in range(Hn):
            for w in range(Wn):
                for c in range(Co):
                    Z[i,h,w,c] = np.sum(Ap[i, h*s:h*s+f, w*s:w*s+f, :] * W[:,:,:,c]) + b[0,0,0,c]
    return Z
def conv_bwd(dZ, A, W, b, s, p):
    m, H, Wd, C = A.shape; f = W.shape[0]
    Ap = pad(A, p); dAp = np.zeros_like(Ap); dW = np.zeros_like(W); db = np.zeros_like(b)
    for i in range(m):
        for h in range(dZ.shape[1]):
            for w in range(dZ.shape[2]):
                for c in range(dZ.shape[3]):
                    dAp[i, h*s:h*s+f, w*s:w*s+f, :] += W[:,:,:,c] * dZ[i,h,w,c]
                    dW[:,:,:,c] += Ap[i, h*s:h*s+f, w*s:w*s+f, :] * dZ[i,h,w,c]
                    db[:,:,:,c] += dZ[i,h,w,c]
    return dAp[:, p:p+H, p:p+Wd, :] if p else dAp, dW, db
np.random.seed(1)
A = np.random.randn(2,5,7,4); W = np.random.randn(3,3,4,8); b = np.random.randn(1,1,1,8)
Z = conv_fwd(A, W, b, 2, 1)
checks = [("Z mean", Z.mean(), 0.5511276474566768),
          ("Z[0,2,1]", Z[0, 2, 1], [-2.17796037, 8.07171329, -0.5772704, 3.36286738, 4.48113645, -2.89198428,
                                    10.99288867, 3.03171932])]
np.random.seed(1)
A = np.random.randn(10,4,4,3); W = np.random.randn(2,2,3,8); b = np.random.randn(1,1,1,8)
Z = conv_fwd(A, W, b, 2, 2); dA, dW, db = conv_bwd(Z, A, W, b, 2, 2)
checks += [("dA_mean", dA.mean(), 1.4524377775388075), ("dW_mean", dW.mean(), 1.7269914583139097),
           ("db_mean", db.mean(), 7.839232564616838)]
def pool_fwd(A, f, s, mode):
    m, H, Wd, C = A.shape; Hn = (H-f)//s+1; Wn = (Wd-f)//s+1; out = np.zeros((m,Hn,Wn,C))
    for i in range(m):
        for h in range(Hn):
            for w in range(Wn):
                for c in range(C):
                    win = A[i,h*s:h*s+f, w*s:w*s+f, c]
                    out[i,h,w,c] = win.max() if mode=="max" else win.mean()
    return out
def pool_bwd(dA, A, f, s, mode):
    dP = np.zeros_like(A)
    for i in range(dA.shape[0]):
        for h in range(dA.shape[1]):
            for w in range(dA.shape[2]):
                for c in range(dA.shape[3]):
                    win = A[i,h*s:h*s+f, w*s:w*s+f, c]
                    if mode=="max":
                        dP[i,h*s:h*s+f, w*s:w*s+f, c] += (win == win.max()) * dA[i,h,w,c]
                    else:
                        dP[i,h*s:h*s+f, w*s:w*s+f, c] += dA[i,h,w,c]/(f*f)
    return dP
np.random.seed(1)
A = np.random.randn(2,5,5,3)
checks += [("max A[1,1,0]", pool_fwd(A, 3, 1, "max")[1, 1, 0], [1.96710175, 0.84616065, 1.27375593]),
           ("avg A[1,1,0]", pool_fwd(A, 3, 1, "avg")[1, 1, 0], [0.44497696, -0.00261695, -0.31040307])]
np.random.seed(1)
A = np.random.randn(5,5,3,2); dA = np.random.randn(5,4,2,2)
checks += [("mean dA", dA.mean(), 0.14571390272918056),
           ("max dA_prev[1,1]", pool_bwd(dA, A, 2, 1, "max")[1, 1],
            [[0, 0], [5.058443935342465, -1.6828270215556507], [0, 0]]),
           ("avg dA_prev[1,1]", pool_bwd(dA, A, 2, 1, "avg")[1, 1],
            [[0.08485462489158352, 0.2787551982460382], [1.2646109838356163, -0.2574937269055999],
             [1.179756358944033, -0.5362489251516381]])]
failures = 0
for name, got, expected in checks:
    ok = np.allclose(got, expected, rtol=0, atol=5e-9)  # the assignment prints 8 decimals
    print(f"{name}: {'ok' if ok else 'MISMATCH'}")
    failures += not ok
sys.exit(1 if failures else 0)
