import sys
import redis
port = int(sys.argv[1]) if len(sys.argv) > 1 else 7400
# redis-py's defaults: version 8 asks for RESP3 on connect.
r = redis.Redis(port=port, username="demo0001", password="demo-secret", decode_responses=True)
assert r.ping() is True
first = r.execute_command("PICK", "demo", "+447400123459", "WITHREASON")
again = r.execute_command("PICK", "demo", "+447400123459", "WITHREASON")
print(first, again)
assert first[0] == again[0] and again[1] == "sticky", (first, again)
pipe = r.pipeline(transaction=False)
for i in range(5):
    pipe.execute_command("PICK", "demo", f"+1415555{i:04}")
senders = pipe.execute()
print(senders)
assert all(s.startswith("1415") for s in senders), senders
try:
    r.execute_command("PICK", "strict", "+33612345678")
    raise SystemExit("expected a rejection")
except redis.ResponseError as e:
    print("rejected:", e)
    assert str(e) == "REJECTED no number for country FR", str(e)
print("brand:", r.execute_command("PICK", "brand", "+33612345678", "WITHREASON"))
assert r.execute_command("STICKY.DEL", "demo", "+447400123459") == 1
assert r.execute_command("STICKY.GET", "demo", "+447400123459") is None
print("python session ok")
