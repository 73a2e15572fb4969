#!/usr/bin/env python3
"""The two steps of the Windows agent's console link that Wine cannot do, done
on the Linux side for tests/windows/console_link_test.sh (docs/windows-notes.md
says why: Wine 8.0's Schannel cannot present a client certificate).

  enroll CONSOLE_URL TOKEN NAME DIR
      makes an EC key and a CSR (openssl), posts them with the token to
      /v1/enroll (trusting the console's CA file, DIR/console-ca.crt) and
      writes DIR/agent.key, DIR/agent.crt; prints the endpoint name.
  relay LISTEN_PORT CONSOLE_HOST CONSOLE_PORT DIR CONSOLE_DATA SECONDS
      a TLS relay on 127.0.0.1:LISTEN_PORT presenting the console's own
      server certificate (so the agent's pinned-CA check runs on the real
      chain) and re-originating each connection to the console with the
      agent's client certificate; bytes are passed through unchanged (HTTP
      upgrade and WebSocket frames). Exits after SECONDS.
  frames LISTEN_PORT CONSOLE_DATA KIND...
      a WebSocket server with the console's certificate that accepts one
      upgrade per KIND and sends that bad input: "binary" (a binary frame),
      "oversize" (a text message over the protocol's 1 MiB), "close" (a close
      frame with status 1008 and a reason), "refuse" (reads the agent's hello,
      prints its protocol version "frames: hello v=N", and closes with 4001
      and a reason, as a console that does not speak that version does).
  sniff LISTEN_PORT CERT KEY CLIENT_CA COUNT
      a TLS server presenting CERT (asking for a client certificate signed
      by CLIENT_CA, not requiring one) that accepts COUNT connections and
      prints, for each, whether the client presented a certificate and how
      many bytes it sent after the handshake, and whether an enrollment token
      was among them ("sniff: cert=no bytes=0 token=no").
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import http.client


def enroll(url, token, name, d):
    host, port = url[len("https://"):].rsplit(":", 1)
    key, csr = os.path.join(d, "agent.key"), os.path.join(d, "agent.csr")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                   check=True)
    subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=" + name, "-out", csr],
                   check=True)
    ctx = ssl.create_default_context(cafile=os.path.join(d, "console-ca.crt"))
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    body = json.dumps({"token": token, "csr": open(csr).read(), "name": name})
    conn.request("POST", "/v1/enroll", body, {"Content-Type": "application/json"})
    reply = conn.getresponse()
    data = reply.read()
    if reply.status != 200:
        sys.exit("enroll: HTTP %d %s" % (reply.status, data[:300]))
    j = json.loads(data)
    with open(os.path.join(d, "agent.crt"), "w") as f:
        f.write(j["cert"])
    print(j["endpoint"])


def pump(down, up):
    """Both directions in one thread: an SSL object is never used by two
    threads at once."""
    import select
    peer = {down: up, up: down}
    for s in peer:
        s.setblocking(False)
    try:
        while True:
            ready = [s for s in peer if s.pending()]
            if not ready:
                ready, _, _ = select.select(list(peer), [], [], 1.0)
            for s in ready:
                try:
                    b = s.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue
                if not b:
                    raise EOFError
                out = peer[s]
                out.setblocking(True)
                out.sendall(b)
                out.setblocking(False)
    except (OSError, EOFError, ValueError):
        pass
    for s in peer:
        try:
            s.close()
        except OSError:
            pass


def relay(listen_port, host, port, d, data, seconds):
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(os.path.join(data, "server.crt"), os.path.join(data, "server.key"))
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(os.path.join(data, "ca.crt"))
    client.load_cert_chain(os.path.join(d, "agent.crt"), os.path.join(d, "agent.key"))
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen(8)
    lsock.settimeout(0.5)
    print("relay ready", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            raw, _ = lsock.accept()
        except socket.timeout:
            continue
        try:
            down = server.wrap_socket(raw, server_side=True)
            up = client.wrap_socket(socket.create_connection((host, port), timeout=10),
                                    server_hostname=host)
            up.settimeout(None)
            down.settimeout(None)
        except (OSError, ssl.SSLError) as e:
            print("relay: connection failed: %s" % e, flush=True)
            raw.close()
            continue
        threading.Thread(target=pump, args=(down, up), daemon=True).start()


def ws_frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
    return head + payload


def read_client_frame(conn):
    """One masked frame from the client (RFC 6455 5.2): its payload."""
    buf = b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            b = conn.recv(65536)
            if not b:
                raise EOFError
            buf += b

    need(2)
    n = buf[1] & 0x7F
    at = 2
    if n == 126:
        need(4)
        n, at = int.from_bytes(buf[2:4], "big"), 4
    elif n == 127:
        need(10)
        n, at = int.from_bytes(buf[2:10], "big"), 10
    need(at + 4 + n)
    mask = buf[at:at + 4]
    return bytes(b ^ mask[i % 4] for i, b in enumerate(buf[at + 4:at + 4 + n]))


def frames(listen_port, data, kinds):
    import base64
    import hashlib
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(os.path.join(data, "server.crt"), os.path.join(data, "server.key"))
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen(4)
    lsock.settimeout(60)
    print("frames ready", flush=True)
    for kind in kinds:
        conn = server.wrap_socket(lsock.accept()[0], server_side=True)
        req = b""
        while b"\r\n\r\n" not in req:
            req += conn.recv(4096)
        key = [l.split(b":", 1)[1].strip() for l in req.split(b"\r\n")
               if l.lower().startswith(b"sec-websocket-key")][0]
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        if kind == "refuse":
            hello = json.loads(read_client_frame(conn))
            print("frames: hello v=%s" % hello.get("v"), flush=True)
            reason = b"unsupported protocol version %d" % hello.get("v", 0)
            conn.sendall(ws_frame(0x8, (4001).to_bytes(2, "big") + reason))
        elif kind == "binary":
            conn.sendall(ws_frame(0x2, b"\x00\x01\x02"))
        elif kind == "oversize":
            conn.sendall(ws_frame(0x1, b"x" * ((1 << 20) + 10)))
        else:
            conn.sendall(ws_frame(0x8, (1008).to_bytes(2, "big") + b"policy says no"))
        time.sleep(1)
        conn.close()


def sniff(listen_port, cert, key, client_ca, count):
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    server.load_verify_locations(client_ca)
    server.verify_mode = ssl.CERT_OPTIONAL
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen(4)
    lsock.settimeout(60)
    print("sniff ready", flush=True)
    for _ in range(count):
        raw = lsock.accept()[0]
        try:
            conn = server.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as e:
            print("sniff: handshake failed: %s" % e, flush=True)
            raw.close()
            continue
        presented = "yes" if conn.getpeercert() else "no"
        got = b""
        conn.settimeout(3)
        try:
            while len(got) < 65536:
                b = conn.recv(4096)
                if not b:
                    break
                got += b
        except (OSError, ssl.SSLError):
            pass
        first = got.split(b"\r\n", 1)[0].decode("latin-1")
        token = "yes" if b"sgE_" in got else "no"
        print("sniff: cert=%s bytes=%d token=%s first=%r" % (presented, len(got), token, first),
              flush=True)
        conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "enroll":
        enroll(*sys.argv[2:6])
    elif sys.argv[1] == "sniff":
        sniff(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    elif sys.argv[1] == "frames":
        frames(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
    else:
        relay(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6],
              float(sys.argv[7]))
