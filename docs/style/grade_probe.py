"""What a conv net can read of a grade from the exemplar alone (session 22, ad hoc probe, not the shipped code).
Trains a 5-conv net (width 32) on 2,000 content frames of the style world's sources (seed 1), each freshly graded per
step, to regress the grade's hue, gammas, contrast and saturation (in units of their spread), and prints the R^2 on 400
other contents (seed 2) per source kind every 500 steps.
Run: PYTHONPATH=. python docs/style/grade_probe.py STEPS (session 22: 4000; ~6 min on 2 cores).
`... STEPS stats` also gives the head each channel's 13 quantiles (session 23: no gain, docs/STYLE_PRESET.md)."""
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F, cv2, time, sys
from rain.worlds.config import StyleWorldConfig
from rain.worlds.style_sources import sample_source
from rain.worlds.style_filters import grade, sample_style
torch.set_num_threads(2)
cfg = StyleWorldConfig()
def contents(seed, n):
    rng = np.random.default_rng(seed); out, kinds = [], []
    for _ in range(n):
        s = sample_source(rng, 1, 256, cfg); out.append(cv2.resize(s.frame(0), (128, 128), interpolation=cv2.INTER_AREA)); kinds.append(s.kind)
    return np.stack(out), np.array(kinds)
t = time.time()
tr, trk = contents(1, 2000); te, tek = contents(2, 400)
print("gen", time.time() - t, flush=True)
def graded(imgs, rng):
    xs, hs = [], []
    for im in imgs:
        st = sample_style(rng, ("grade",)); xs.append(grade(im, st)); hs.append([st.get("hue") / 180 / 0.13, *(np.log(g) / 0.23 for g in st.get("gamma")), np.log(st.get("contrast")) / 0.2, np.log(st.get("sat")) / 0.55])
    return torch.tensor(np.stack(xs)).permute(0, 3, 1, 2).float() / 255, torch.tensor(hs).float()
w = 32
Q = torch.tensor([0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99])
STATS = len(sys.argv) > 2 and sys.argv[2] == "stats"
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.Sequential(*[m for a, b in zip([3, w, 2*w, 4*w, 4*w], [w, 2*w, 4*w, 4*w, 4*w]) for m in (nn.Conv2d(a, b, 3, 2, 1), nn.SiLU())])
        extra = 3 * len(Q) if STATS else 0
        self.head = nn.Sequential(nn.Linear(4*w + extra, 128), nn.SiLU(), nn.Linear(128, 6))
    def forward(self, x):
        f = self.convs(x).mean((2, 3))
        if STATS:
            f = torch.cat([f, torch.quantile(x.flatten(2), Q, dim=2).permute(1, 2, 0).flatten(1)], 1)
        return self.head(f)
net = Net()
opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-4)
rng = np.random.default_rng(0); trng = np.random.default_rng(5)
Xte, Yte = graded(te, trng)
steps = int(sys.argv[1])
for step in range(steps):
    idx = rng.integers(0, len(tr), 32)
    x, y = graded(tr[idx], rng)
    if rng.random() < 0.5: x = x.flip(3)
    loss = F.mse_loss(net(x * 2 - 1), y)
    opt.zero_grad(); loss.backward(); opt.step()
    if (step + 1) % 500 == 0:
        net.eval()
        with torch.no_grad(): p = net(Xte * 2 - 1)
        net.train()
        for k in ("face", "body", "photo"):
            m = torch.tensor(tek == k)
            r = 1 - ((p - Yte)[m] ** 2).mean(0) / Yte[m].var(0)
            print(step + 1, k, "R2 hue gR gG gB contrast sat", [round(float(v), 2) for v in r], flush=True)
