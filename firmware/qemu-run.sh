#!/usr/bin/env bash
# Cargo runner: qemu-run.sh MACHINE CPU FIRMWARE.elf
# Runs the firmware in QEMU and decodes its defmt log; exits with the firmware's status.
# (`cargo xtask qemu-smoke` does the same with a timeout and checks the log.)
set -euo pipefail
machine=$1 cpu=$2 elf=$3
defmt_print=$(command -v defmt-print || echo "${CARGO_HOME:-$HOME/.cargo}/bin/defmt-print")
qemu-system-arm -cpu "$cpu" -machine "$machine" -nographic \
    -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" \
    | "$defmt_print" -e "$elf"
