"""The client matrix's scripted session for Python clients, against `numpool serve --demo`.

    python clients.py LIB MODE PORT RUN

LIB is redis (redis-py), valkey (valkey-py) or glide (valkey-glide); MODE is `default` (the
client exactly as constructed with only host, port and credentials) or `resp2` (its RESP2
setting); RUN is a small number that makes this run's recipients its own, so every pair can use
the same server. Every reply is compared exactly, so a client that misreads a RESP3 frame fails.
Exits non-zero on the first mismatch.
"""

import asyncio
import sys

lib, mode, port, run = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
assert mode in ("default", "resp2"), mode
KEY, SECRET = "demo0001", "demo-secret"

UK = {"447700900001", "447700900002", "447700900003"}
US_415 = {"14155550101", "14155550102"}
ALL = UK | US_415 | {
    "12125550101", "12125550102", "4915112345001", "4915112345002", "33612345001",
    "61412345001", "14165550101",
}


def step(name):
    print(f"  {name}", flush=True)


def decode(v):
    """bytes → str all the way down (glide returns bytes; redis-py with decode_responses not)."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [decode(x) for x in v]
    if isinstance(v, dict):
        return {decode(k): decode(x) for k, x in v.items()}
    return v


def eq(got, want, what):
    if got != want:
        raise SystemExit(f"FAIL {what}: want {want!r}, got {got!r}")


# ---------------------------------------------------------------------------------------------
# Adapters: connect / cmd / pipeline / reconnect / close, and how each client shows an error.


class RedisPy:
    """redis-py and valkey-py (a fork of redis-py 5: the same API)."""

    def __init__(self, module):
        self.m = __import__(module)
        self.version = self.m.__version__

    def kwargs(self):
        return {"protocol": 2} if mode == "resp2" else {}

    def connect(self, username=KEY, password=SECRET):
        c = self.m.Redis(host="127.0.0.1", port=port, username=username, password=password,
                         decode_responses=True, **self.kwargs())
        return c

    def cmd(self, c, *args):
        return c.execute_command(*args)

    def pipeline(self, c, commands):
        p = c.pipeline(transaction=False)
        for args in commands:
            p.execute_command(*args)
        return p.execute(raise_on_error=False)

    def reconnect(self, c):
        # Drops the pooled connection; the next command opens a new one with the same handshake.
        c.connection_pool.disconnect()
        return c

    def close(self, c):
        c.close()

    def error_text(self, e):
        """The server's error text, or None if `e` is not a server error. redis-py drops the
        code word of the errors it maps to a class (ERR, NOAUTH, WRONGPASS …); expect_error
        accepts the line with or without it."""
        if not isinstance(e, self.m.exceptions.ResponseError) and not isinstance(
                e, self.m.exceptions.AuthenticationError):
            return None
        return str(e)

    def is_error(self, v):
        return isinstance(v, Exception)


class Glide:
    def __init__(self):
        import glide
        from importlib.metadata import version
        self.g = glide
        glide.Logger.set_logger_config(glide.LogLevel.OFF)  # its WARN lines repeat the errors
        self.version = version("valkey-glide")
        self.loop = asyncio.new_event_loop()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def connect(self, username=KEY, password=SECRET):
        g = self.g
        extra = {"protocol": g.ProtocolVersion.RESP2} if mode == "resp2" else {}
        creds = g.ServerCredentials(password, username) if password is not None else None
        config = g.GlideClientConfiguration([g.NodeAddress("127.0.0.1", port)],
                                            credentials=creds, request_timeout=5000, **extra)
        return self.run(g.GlideClient.create(config))

    def cmd(self, c, *args):
        return decode(self.run(c.custom_command(list(args))))

    def pipeline(self, c, commands):
        b = self.g.Batch(is_atomic=False)
        for args in commands:
            b.custom_command(list(args))
        return [x if isinstance(x, Exception) else decode(x)
                for x in self.run(c.exec(b, raise_on_error=False))]

    def reconnect(self, c):
        # GLIDE reconnects by itself only when the server drops it; a new client is the way to
        # ask for a fresh connection.
        self.close(c)
        return self.connect()

    def close(self, c):
        self.run(c.close())

    def error_text(self, e):
        """GLIDE rewrites the server's line: `CODE: detail` for the codes it does not know,
        `An error was signalled by the server: - ResponseError: detail` for ERR, and a failed
        handshake as `Received error for address `…`: CODE: detail`. Undo exactly that."""
        if not isinstance(e, (self.g.RequestError, self.g.ClosingError)):
            return None
        text = str(e).strip()
        if text.startswith("Received error for address `"):
            text = text.split("`: ", 1)[1]
        if text == "Password authentication failed- AuthenticationFailed":
            # With RESP2 GLIDE sends a plain `AUTH key secret` and replaces whatever error comes
            # back with this text of its own (the server's line, captured on the wire, is
            # `-WRONGPASS invalid username-password pair or user is disabled.`).
            return "WRONGPASS invalid username-password pair or user is disabled."
        err = "An error was signalled by the server: - ResponseError: "
        if text.startswith(err):
            return "ERR " + text[len(err):]
        code, sep, detail = text.partition(": ")
        if sep and code.isupper() and " " not in code:
            return f"{code} {detail}"
        return text

    def is_error(self, v):
        return isinstance(v, Exception)


client = Glide() if lib == "glide" else RedisPy(lib)
# What each client speaks by default (redis-py from 8.0 on, GLIDE: RESP3); RESP2 with its setting.
EXPECT_PROTO = {
    ("redis", "default"): 3 if int(client.version.split(".")[0]) >= 8 else 2,
    ("valkey", "default"): 2,
    ("glide", "default"): 3,
}.get((lib, mode), 2)
print(f"{lib} {client.version} {mode}: expects RESP{EXPECT_PROTO}", flush=True)


def strip_code(text):
    return text.split(" ", 1)[1] if " " in text else text


def expect_error(fn, want, what):
    """`fn()` must fail with the server's error line `want`. redis-py-style clients drop the code
    word of the errors they map to an exception class; anything else must be the exact line."""
    try:
        got = fn()
    except Exception as e:  # noqa: BLE001 - any other exception is itself a failure
        text = client.error_text(e)
        if text is None:
            raise SystemExit(f"FAIL {what}: want server error {want!r}, got {type(e).__name__}: {e}")
        if text not in (want, strip_code(want)):
            raise SystemExit(f"FAIL {what}: want {want!r}, got {text!r}")
        return
    raise SystemExit(f"FAIL {what}: want error {want!r}, got reply {got!r}")


def check_pipeline_error(v, want, what):
    if not client.is_error(v):
        raise SystemExit(f"FAIL {what}: want error {want!r}, got reply {v!r}")
    text = client.error_text(v)
    if text is None or text not in (want, strip_code(want)):
        raise SystemExit(f"FAIL {what}: want {want!r}, got {type(v).__name__}: {v}")


# ---------------------------------------------------------------------------------------------

uk = f"+44740010{run:04d}"
us = f"+1415555{run:04d}"
fr = f"+3361234{run:04d}"
jp = f"+8190123{run:05d}"

step("auth (the client's own handshake)")
r = client.connect()
eq(client.cmd(r, "PING"), "PONG" if lib == "glide" else True, "PING")
eq(client.cmd(r, "ECHO", "hello"), "hello", "ECHO")
info = client.cmd(r, "CLIENT", "INFO")
proto = int(info.split("resp=")[1].split()[0])
eq(proto, EXPECT_PROTO, f"negotiated protocol (CLIENT INFO {info.strip()!r})")
first_id = client.cmd(r, "CLIENT", "ID")
eq(isinstance(first_id, int), True, "CLIENT ID is an integer")

step("a pick in each fallback")
sender, reason = client.cmd(r, "PICK", "demo", uk, "WITHREASON")
eq((sender in UK, reason), (True, "country"), f"PICK demo {uk} WITHREASON -> {sender}")
eq(client.cmd(r, "PICK", "demo", uk, "WITHREASON"), [sender, "sticky"], "second pick is sticky")
eq(client.cmd(r, "PICK", "demo", us, "NETWORK", "311480", "WITHREASON"), ["14155550102", "area"],
   "area pick")
any_sender, any_reason = client.cmd(r, "PICK", "demo", jp, "WITHREASON")
eq((any_sender in ALL, any_reason), (True, "any"), "Pool fallback")
expect_error(lambda: client.cmd(r, "PICK", "strict", fr), "REJECTED no number for country FR",
             "Reject fallback")
eq(client.cmd(r, "PICK", "brand", fr, "WITHREASON"), ["Numpool", "custom_from"],
   "CustomFrom fallback")
eq(client.cmd(r, "PICK", "brand", fr, "FROM", "Acme"), "Acme", "CustomFrom with FROM")
r1 = client.cmd(r, "PICK", "random", uk, "WITHREASON")
eq((r1[0] in UK, r1[1]), (True, "country"), "random pool (not sticky) first pick")
r2 = client.cmd(r, "PICK", "random", uk, "WITHREASON")
eq((r2[0] in UK, r2[1]), (True, "country"), "random pool (not sticky) second pick")
withinfo = client.cmd(r, "PICK", "demo", uk, "WITHINFO")
want_info = {"sender": sender, "reason": "sticky", "wait_ms": 0}
if proto == 3:  # every Python client here reads a RESP3 map as a dict
    eq(withinfo, want_info, "WITHINFO (RESP3 map)")
else:
    eq(withinfo, ["sender", sender, "reason", "sticky", "wait_ms", 0], "WITHINFO (RESP2 array)")

step("sticky get/del")
eq(client.cmd(r, "STICKY.GET", "demo", uk), sender, "STICKY.GET")
eq(client.cmd(r, "STICKY.DEL", "demo", uk), 1, "STICKY.DEL")
eq(client.cmd(r, "STICKY.GET", "demo", uk), None, "STICKY.GET after DEL (nil)")
eq(client.cmd(r, "STICKY.DEL", "demo", uk), 0, "STICKY.DEL again")
eq(client.cmd(r, "CLIENT", "GETNAME"), None, "CLIENT GETNAME (nil)")
server_info = client.cmd(r, "INFO", "server")
if isinstance(server_info, dict):  # redis-py parses INFO into a dict
    eq(server_info.get("redis_version"), "7.2.0", f"INFO server: {server_info!r}")
else:
    eq("redis_version:7.2.0" in server_info, True, f"INFO server: {server_info!r}")

step("an error of each kind")
expect_error(lambda: client.cmd(r, "PICK", "nope", uk), "NOPOOL pool 'nope' not found",
             "unknown pool")
expect_error(lambda: client.cmd(r, "PICK", "demo", "12ab"), "ERR invalid recipient '12ab'",
             "bad recipient")
expect_error(lambda: client.cmd(r, "PICK", "brand", fr, "FROM", "much-too-long-sender"),
             "ERR invalid sender 'much-too-long-sender'", "bad FROM")
expect_error(lambda: client.cmd(r, "PICK", "demo"),
             "ERR wrong number of arguments for 'pick' command", "wrong arity")
expect_error(lambda: client.cmd(r, "PICK", "demo", uk, "BOGUS"), "ERR syntax error",
             "unknown option")
expect_error(lambda: client.cmd(r, "FROBNICATE", "x"), "ERR unknown command 'FROBNICATE'",
             "unknown command")
expect_error(lambda: client.cmd(r, "SELECT", "1"), "ERR DB index is out of range", "SELECT 1")
eq(client.cmd(r, "PING"), "PONG" if lib == "glide" else True, "connection still usable")



def connect_and_run(username, password, *args):
    """A new client with these credentials runs `args`. Some clients fail at connect (GLIDE
    reads INFO during its handshake), others at the first command: either must be the error."""
    c = client.connect(username=username, password=password)
    try:
        return client.cmd(c, *args)
    finally:
        client.close(c)


expect_error(lambda: connect_and_run(None, None, "PICK", "demo", uk),
             "NOAUTH Authentication required.", "no credentials")
expect_error(lambda: connect_and_run(KEY, "wrong-secret", "PING"),
             "WRONGPASS invalid username-password pair or user is disabled.", "wrong secret")

step("a pipeline of 100")
tos = [f"+447922{run:03d}{i:03d}" for i in range(100)]
senders = client.pipeline(r, [("PICK", "demo", to) for to in tos])
eq(len(senders), 100, "pipeline length")
bad = [s for s in senders if s not in UK]
eq(bad, [], "pipeline senders all UK")
again = client.pipeline(r, [("PICK", "demo", to, "WITHREASON") for to in tos[:49]]
                        + [("PICK", "strict", fr)]
                        + [("PICK", "demo", to, "WITHREASON") for to in tos[50:]])
eq(len(again), 100, "second pipeline length")
check_pipeline_error(again[49], "REJECTED no number for country FR", "pipeline error in place")
eq([a for i, a in enumerate(again) if i != 49],
   [[s, "sticky"] for i, s in enumerate(senders) if i != 49], "pipeline sticky replies in order")

step("reconnect")
r = client.reconnect(r)
eq(client.cmd(r, "PICK", "demo", tos[0], "WITHREASON"), [senders[0], "sticky"],
   "sticky after reconnect")
info = client.cmd(r, "CLIENT", "INFO")
eq(int(info.split("resp=")[1].split()[0]), EXPECT_PROTO, "protocol after reconnect")
eq(client.cmd(r, "CLIENT", "ID") != first_id, True, "a new connection after reconnect")
client.close(r)
print(f"{lib} {client.version} {mode}: session ok (RESP{proto})")
