#!/bin/sh
# The two-sample classifier tests (score_rung.py --classifiers-only) of the ladder's main
# rows, added to their JSONs in runs/bright_ladder/scores/; run from the repository root.
S=research/bright_ladder/score_rung.py
P=".venv/bin/python $S"
export OMP_NUM_THREADS=1
$P hub:flow-vae-mock-cosmos-25.2@2.1.0 --best-steps 100 --classifiers-only a2-2.1.0-best
$P hub:flow-vae-mock-cosmos-25.2@2.0.0 --classifiers-only a0-2.0.0-encoder
for r in c d f; do
  $P runs/bright_ladder/rung_$r --checkpoint runs/bright_ladder/rung_$r/kept3000/ckpt-3000 --classifiers-only $r-encoder-3000
  $P runs/bright_ladder/rung_$r --checkpoint runs/bright_ladder/rung_$r/kept3000/ckpt-3000 --best-steps 100 --classifiers-only $r-best-3000
done
echo DONE
