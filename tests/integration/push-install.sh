#!/bin/bash
# push-install into a real Debian root over SSH: sshd from the cached debootstrap'd root runs in a
# chroot on 127.0.0.1:2222 with a test key; push-install (as a sudo user) installs the .deb, writes the
# config, registers against a receiver on loopback, and brings prepcheck's report back. The token it
# got works (a sync from inside the root lands in the receiver), and a second run changes nothing.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/replicate.sh"
need_root
need_cmd ssh scp ssh-keygen chroot jq openssl
need_receiver
S=$(scratch)

pkgs=$BUILD_DIR/packages   # left by the packages test when it ran first
if ! ls "$pkgs"/mobility-agent_*.deb >/dev/null 2>&1; then
    note "building the packages"
    bash "$SOURCE_DIR/tests/lib/build-packages.sh" "$pkgs" deb >/dev/null
fi

make_pki "$S"
make_agents "$S"
start_receiver "$S"
"$MOBILITY_RECEIVER" keygen --agents "$S/agents" >"$S/regkey" || fail "keygen failed"
grep -q '^mrk-' "$S/regkey" || fail "keygen printed no key"

R=$S/root
cp -a "$(debian_root)" "$R"
for d in proc sys dev dev/pts; do
    mount --bind "/$d" "$R/$d"
    on_exit "umount -l '$R/$d'"
done
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
mkdir -p /var/cache/mobility-agent-tests/apt-archives/partial "$R/run/sshd"
mount --bind /var/cache/mobility-agent-tests/apt-archives "$R/var/cache/apt/archives"
on_exit "umount -l '$R/var/cache/apt/archives'"
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
chroot "$R" apt-get update -qq >/dev/null 2>&1 || fail "apt-get update in the root failed"

# A deploy user with password-less sudo, reached with a test key.
ssh-keygen -q -t ed25519 -N '' -f "$S/id" -C push-install-test
chroot "$R" ssh-keygen -A >/dev/null
chroot "$R" useradd -m -s /bin/bash deploy
chroot "$R" usermod -p "*" deploy   # no password, but not locked: key login works
mkdir -p "$R/home/deploy/.ssh"
cp "$S/id.pub" "$R/home/deploy/.ssh/authorized_keys"
chroot "$R" chown -R deploy: /home/deploy/.ssh
chmod 700 "$R/home/deploy/.ssh"
echo 'deploy ALL=(ALL) NOPASSWD: ALL' >"$R/etc/sudoers.d/deploy"
chmod 440 "$R/etc/sudoers.d/deploy"
chroot "$R" /usr/sbin/sshd -D -p 2222 -o ListenAddress=127.0.0.1 -o UsePAM=no -o PasswordAuthentication=no \
    -E /var/log/sshd.log &
SSHD=$!
on_exit "kill $SSHD"
for ((i = 0; i < 50; i++)); do
    ssh -p 2222 -i "$S/id" -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$S/kh" \
        deploy@127.0.0.1 true 2>/dev/null && break
    sleep 0.2
done
((i < 50)) || { cat "$R/var/log/sshd.log" >&2; fail "sshd in the root does not answer"; }
head -c 8M /dev/urandom >"$R/var/tmp/disk.img"
echo "127.0.1.1 $(hostname)" >>"$R/etc/hosts"

push() {
    "$SOURCE_DIR/packaging/push-install" --host 127.0.0.1 --port 2222 --user deploy --identity "$S/id" \
        --known-hosts "$S/kh" --appliance "https://127.0.0.1:$RECEIVER_PORT" --ca "$S/ca.pem" \
        --registration-key "$S/regkey" --package-dir "$pkgs" --disk /var/tmp/disk.img --report "$S/report.json" "$@"
}
push 2>"$S/push1.log" || { cat "$S/push1.log" >&2; fail "push-install failed"; }
jq -e '.schema == "prepcheck/1"' "$S/report.json" >/dev/null || fail "no prepcheck report came back"
[[ -x $R/usr/sbin/mobility-agent ]] || fail "the package is not installed"
id=$(sed -n 's/^  id: *//p' "$R/etc/mobility-agent/agent.yaml")
[[ -n $id && $id != unregistered ]] || fail "the configuration has no registered id"
grep -q "^$id " "$S/agents" || fail "the receiver did not add agent $id"
[[ $(stat -c %a "$R/etc/mobility-agent/token") == 600 ]] || fail "the token is not root-only"
grep -q "\[9/9\] run prepcheck" "$S/push1.log" || fail "push-install does not report its steps"
# No systemd runs in the chroot: the service must be enabled (for the next boot) and that said.
[[ -L $R/etc/systemd/system/multi-user.target.wants/mobility-agent.service ]] || fail "the service was not enabled"
grep -q "systemd does not run" "$S/push1.log" || fail "push-install does not say the service could not start"

# The token works: a sync from inside the root lands in the receiver under the new id.
chroot "$R" mobility-agent sync --config /etc/mobility-agent/agent.yaml --json >"$S/sync.json" 2>"$S/sync.log" ||
    { cat "$S/sync.log" >&2; fail "sync with the registered token failed"; }
[[ $(sha256sum <"$STORE/$id/disk.img.raw" | cut -c1-64) == $(sha256sum <"$R/var/tmp/disk.img" | cut -c1-64) ]] ||
    fail "the replica of the registered agent differs"

# Idempotent: a second run succeeds, registers nothing new, rewrites nothing.
agents_before=$(wc -l <"$S/agents")
cfg_before=$(sha256sum <"$R/etc/mobility-agent/agent.yaml")
push 2>"$S/push2.log" || { cat "$S/push2.log" >&2; fail "the second push-install failed"; }
[[ $(wc -l <"$S/agents") == "$agents_before" ]] || fail "the second run registered again"
[[ $(sha256sum <"$R/etc/mobility-agent/agent.yaml") == "$cfg_before" ]] || fail "the second run changed the configuration"

# A failure names its step.
if "$SOURCE_DIR/packaging/push-install" --host 127.0.0.1 --port 2223 --user deploy --identity "$S/id" \
    --known-hosts "$S/kh" --appliance "https://127.0.0.1:$RECEIVER_PORT" --ca "$S/ca.pem" \
    --registration-key "$S/regkey" --package-dir "$pkgs" 2>"$S/push3.log"; then fail "a closed port succeeded"; fi
grep -q "step 1/9 (connect" "$S/push3.log" || { cat "$S/push3.log" >&2; fail "the failure does not name the step"; }
note "ok"
