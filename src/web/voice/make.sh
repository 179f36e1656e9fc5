#!/bin/bash
# Regenerates the spoken digits of the audio captcha (espeak-ng + sox from Debian's packages).
# 8 kHz mono 16-bit, silence trimmed; the server mixes noise and random gaps at run time.
set -euo pipefail
cd "$(dirname "$0")"
zh=(零 一 二 三 四 五 六 七 八 九)
en=(zero one two three four five six seven eight nine)
mkdir -p zh en
for i in $(seq 0 9); do
  espeak-ng -v cmn -s 130 -w /tmp/d.wav "${zh[$i]}" && sox /tmp/d.wav -r 8000 -c 1 -b 16 zh/$i.wav silence 1 0.02 1% reverse silence 1 0.02 1% reverse
  espeak-ng -v en -s 130 -w /tmp/d.wav "${en[$i]}" && sox /tmp/d.wav -r 8000 -c 1 -b 16 en/$i.wav silence 1 0.02 1% reverse silence 1 0.02 1% reverse
done
