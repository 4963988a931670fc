#!/usr/bin/env bash
# Cargo runner: qemu-run.sh MACHINE CPU FIRMWARE.elf
# Runs the firmware in QEMU and decodes its defmt log (semihosting on QEMU's stdout) with
# defmt-print; exits with the firmware's status. UART0 listens on 127.0.0.1:$EDGERANK_UART_PORT
# (default 4444) for a host client (the protocol firmware serves requests there).
# `-icount shift=0`: one instruction per virtual ns, so SysTick counts instructions.
# (`cargo xtask qemu-smoke`, `qemu-test` and `device-bench` start QEMU themselves.)
set -euo pipefail
machine=$1 cpu=$2 elf=$3
port=${EDGERANK_UART_PORT:-4444}
defmt_print=$(command -v defmt-print || echo "${CARGO_HOME:-$HOME/.cargo}/bin/defmt-print")
echo "UART0 on tcp 127.0.0.1:$port" >&2
qemu-system-arm -cpu "$cpu" -machine "$machine" -display none -monitor none -no-reboot \
    -serial "tcp:127.0.0.1:$port,server=on,wait=off" \
    -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" \
    | "$defmt_print" -e "$elf"
