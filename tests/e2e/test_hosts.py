"""Several hosts on one PostgreSQL server: concluders in two network namespaces.

Each namespace is a host of its own: its own network stack, reached through a
veth pair, with only the address inside it. The server listens on 127.0.0.1
only, so a relay in the test forwards each namespace's connections to it; the
relay notes where every connection came from, to prove that the concluders
really ran in the namespaces. Where the machine forbids namespaces (no root,
no CAP_NET_ADMIN, no ip), the test says so and is reported skipped."""

import os
import shutil
import socket
import subprocess
import threading
import uuid
from urllib.parse import urlsplit

from harness import BINARY, COMMAND, ENGINE, NimbusTestCase, POSTGRESQL, main, time_limit

def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=COMMAND, check=check)


def inside(namespace):
    """The command prefix that runs a program in a namespace. nsenter, not
    'ip netns exec', which also remounts /sys and fails where / is not a mount
    point (a chroot)."""
    return ["nsenter", f"--net=/run/netns/{namespace}"]


class Relay:
    """Forwards TCP connections from listening addresses to one target."""

    def __init__(self, addresses, target):
        self.target = target
        self.peers = []
        self.listeners = []
        for address in addresses:
            listener = socket.create_server((address, 0))
            self.listeners.append(listener)
            threading.Thread(target=self.accept, args=(listener,), daemon=True).start()

    def port_of(self, index):
        return self.listeners[index].getsockname()[1]

    def accept(self, listener):
        while True:
            try:
                client, peer = listener.accept()
            except OSError:
                return
            self.peers.append(peer[0])
            server = socket.create_connection(self.target)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self.pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # Either side ending ends both; each socket is closed by the pump
            # that reads it.
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            source.close()

    def close(self):
        for listener in self.listeners:
            listener.close()


class HostsTest(NimbusTestCase):
    HOSTS = 2

    def setUp(self):
        if ENGINE != "postgresql":
            self.skipTest("several hosts share a PostgreSQL server; a SQLite store belongs to one host")
        super().setUp()
        self.make_hosts()
        self.init_hotline()

    def make_hosts(self):
        if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nsenter") is None:
            self.skipTest("network namespaces need root, iproute2's ip and util-linux's nsenter")
        tag = uuid.uuid4().hex[:6]
        self.namespaces = []
        self.veths = []  # each host's end of its veth pair
        subnet = 100 + os.getpid() % 100
        addresses = []
        for host in range(self.HOSTS):
            name = f"nimbus-{tag}-{host}"
            made = ip("netns", "add", name, check=False)
            if made.returncode != 0:
                self.skipTest(f"this machine forbids network namespaces: {made.stderr.strip()}")
            self.namespaces.append(name)
            self.addCleanup(ip, "netns", "del", name, check=False)
            entered = subprocess.run([*inside(name), "true"], capture_output=True, text=True, timeout=COMMAND)
            if entered.returncode != 0:
                self.skipTest(f"this machine forbids entering network namespaces: {entered.stderr.strip()}")
            outside, veth = f"nv{tag}{host}h", f"nv{tag}{host}n"
            here, there = f"10.{subnet}.{host}.1", f"10.{subnet}.{host}.2"
            ip("link", "add", outside, "type", "veth", "peer", "name", veth)
            self.addCleanup(ip, "link", "del", outside, check=False)
            ip("link", "set", veth, "netns", name)
            self.veths.append(veth)
            ip("addr", "add", f"{here}/24", "dev", outside)
            ip("link", "set", outside, "up")
            subprocess.run([*inside(name), "ip", "addr", "add", f"{there}/24", "dev", veth], check=True, timeout=COMMAND)
            subprocess.run([*inside(name), "ip", "link", "set", veth, "up"], check=True, timeout=COMMAND)
            addresses.append((here, there))
        server = urlsplit(POSTGRESQL.uri)
        self.relay = Relay([here for here, _ in addresses], (server.hostname, server.port))
        self.addCleanup(self.relay.close)
        # Each host sees the server at its own relay address; libpq finds the
        # password for it in a password file of the test's own.
        with open(POSTGRESQL.passfile) as f:
            password = f.read().strip().rsplit(":", 1)[1]
        passfile = os.path.join(self.sandbox.dir, "pgpass")
        database = self.sandbox.database()
        self.host_stores = []
        with open(passfile, "w") as f:
            for index, (here, there) in enumerate(addresses):
                port = self.relay.port_of(index)
                f.write(f"{here}:{port}:*:{server.username}:{password}\n")
                self.host_stores.append(f"postgresql://{server.username}@{here}:{port}/{database}")
        os.chmod(passfile, 0o600)
        self.host_env = dict(self.sandbox.env, PGPASSFILE=passfile)
        self.host_addresses = [there for _, there in addresses]

    def on_host(self, host, *args):
        """Starts nimbus-codes in a host's namespace, on that host's way to the store."""
        env = dict(self.host_env, NIMBUS_CODES_STORE=self.host_stores[host])
        return subprocess.Popen([*inside(self.namespaces[host]), BINARY, *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def test_hosts_race_for_each_session(self):
        self.import_calls([f"race-{round}" for round in range(10)])
        for round in range(10):
            racers = [self.on_host(n % self.HOSTS, "session", "conclude", f"race-{round}", "--primary", "Sale",
                                   "--tag", f"racer {n}", "--as", "mia") for n in range(8)]
            outcomes = []
            for racer in racers:
                _, err = racer.communicate(timeout=COMMAND)
                outcomes.append((racer.returncode, err.decode()))
            self.assertEqual(sorted(code for code, _ in outcomes), [0] + [4] * 7, outcomes)
            for code, err in outcomes:
                if code == 4:
                    self.assertIn("was concluded by mia", err)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion"), 10)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion_tag"), 10)
        self.assertEqual(set(self.relay.peers), set(self.host_addresses))

    def test_hosts_conclude_their_own_sessions(self):
        ids = [f"h-{n}" for n in range(200)]
        self.import_calls(ids)
        script = 'for id in "$@"; do "$NIMBUS" session conclude "$id" --primary Sale --as mia -q || exit $?; done'
        workers = []
        for worker in range(8):
            host = worker % self.HOSTS
            env = dict(self.host_env, NIMBUS=BINARY, NIMBUS_CODES_STORE=self.host_stores[host])
            workers.append(subprocess.Popen(
                [*inside(self.namespaces[host]), "bash", "-c", script, "worker", *ids[worker::8]],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for worker in workers:
            _, err = worker.communicate(timeout=time_limit(15))
            self.assertEqual(worker.returncode, 0, err.decode())
        concluded = {s["id"] for s in self.json_ok("session", "list", "--concluded")}
        self.assertEqual(concluded, set(ids))
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion"), 200)
        self.assertEqual(set(self.relay.peers), set(self.host_addresses))
        self.assertEqual(len(self.relay.peers), 200)

    def test_a_host_cut_off_from_the_server_exits_75_naming_it(self):
        self.import_calls(["cut-1"])
        subprocess.run([*inside(self.namespaces[0]), "ip", "link", "set", self.veths[0], "down"], check=True,
                       timeout=COMMAND)
        cut = self.on_host(0, "session", "conclude", "cut-1", "--primary", "Sale", "--as", "mia")
        _, err = cut.communicate(timeout=COMMAND)
        self.assertEqual(cut.returncode, 75, err)
        self.assertIn(self.host_stores[0].split("@")[1].split("/")[0], err.decode())
        # The other host still reaches it, and nothing was concluded meanwhile.
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion"), 0)
        ok = self.on_host(1, "session", "conclude", "cut-1", "--primary", "Sale", "--as", "mia")
        _, err = ok.communicate(timeout=COMMAND)
        self.assertEqual(ok.returncode, 0, err)


if __name__ == "__main__":
    main()
