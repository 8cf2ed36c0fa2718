#!/bin/sh
# Where the classifier tells reconstructions from truths: the noiseless two-sample test with
# both sides smoothed by Gaussians of 0.5-4 pixels (score_rung.py --scales), for the
# default's best codes, the architecture's ceiling (rung b, noiseless truths) and the best
# rung on noisy stamps, the mock's Sérsic rows (no structure at all) and rung (g); then two of them with their
# outer light replaced by the default's wings, as its engine draws them; added to their JSONs in runs/bright_ladder/scores/.
S=research/bright_ladder/score_rung.py
P=".venv/bin/python $S"
export OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 TF_CPP_MIN_LOG_LEVEL=2
K="--scales 0,0.5,1,2,4"
$P runs/bright_ladder/rung_b --classifiers-only b-encoder $K
$P hub:flow-vae-mock-cosmos-25.2@2.1.0 --best-steps 100 --classifiers-only a2-2.1.0-best $K
$P runs/bright_ladder/rung_c --checkpoint runs/bright_ladder/rung_c/kept3000/ckpt-3000 --best-steps 100 --classifiers-only c-best-3000 $K
$P sersic --classifiers-only sersic $K
$P runs/bright_ladder/rung_g --checkpoint runs/bright_ladder/rung_g/kept4000/ckpt-4000 --label g-encoder-4000
$P runs/bright_ladder/rung_g --checkpoint runs/bright_ladder/rung_g/kept4000/ckpt-4000 --classifiers-only g-encoder-4000 $K
W="--wings hub:flow-vae-mock-cosmos-25.2"
$P runs/bright_ladder/rung_c --checkpoint runs/bright_ladder/rung_c/kept3000/ckpt-3000 --best-steps 100 --classifiers-only c-best-3000-wings $K $W
$P hub:flow-vae-mock-cosmos-25.2@2.1.0 --best-steps 100 --classifiers-only a2-2.1.0-best-wings $K $W
echo DONE
