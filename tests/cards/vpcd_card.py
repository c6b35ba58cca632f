#!/usr/bin/env python3
"""A social-security card (社会保障卡) for vsmartcard's vpcd, the virtual reader inside pcscd.

vpcd listens on 127.0.0.1:35963 (reader "Virtual PCD 00 00"); this program is the card: it
connects as a TCP client and answers vpcd's messages, each a 2-byte big-endian length and a
payload. A 1-byte payload is a control (0 power off, 1 power on, 2 reset, 4 send the ATR);
anything longer is an APDU, answered with data and a status word. Closing the socket takes the
card out of the reader.

Usage: vpcd_card.py [--port N] (--card JSON | --unknown) [--remove-after N] [--bad-record]
                    [--hold SECONDS]
"""
import argparse
import json
import socket
import struct
import sys
import time

ATR = bytes.fromhex("3B00")
SELECT_SSSE = bytes.fromhex("00A404000F") + "sx1.sh.".encode() + "社会保障".encode("gbk")


def tlv(tag, value):
    return bytes([tag, len(value)]) + value


def bcd(digits):
    return bytes.fromhex(digits)


def records(card):
    name = card["name"].encode("gbk").ljust(30, b" ")
    ef05 = [
        tlv(0x07, card.get("card_no", "S00000000").encode()),
        tlv(0x05, bcd(card.get("issued", "20200101"))),
        tlv(0x06, bcd(card.get("valid_to", "20310101"))),
    ]
    ef06 = [
        tlv(0x08, card["id_number"].encode()),
        tlv(0x09, name),
        tlv(0x0A, card["sex"].encode()),
        tlv(0x0B, bytes([int(str(card.get("ethnicity", 1)), 16)])),
        tlv(0x0D, bcd(card["birth"])),
    ]
    return {5: ef05, 6: ef06}


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        # Debian's vpcd waits for the delayed ACK otherwise: ~50 ms per APDU.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("vpcd closed the connection")
        data += chunk
    return data


def send(sock, payload):
    sock.sendall(struct.pack(">H", len(payload)) + payload)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=35963)
    ap.add_argument("--card", help="JSON: id_number, name, sex, birth, ethnicity, valid_to, card_no")
    ap.add_argument("--unknown", action="store_true", help="a card without the social-security application")
    ap.add_argument("--remove-after", type=int, default=0, help="leave the reader after N APDUs")
    ap.add_argument("--bad-record", action="store_true", help="answer EF06 with a truncated TLV item")
    ap.add_argument("--hold", type=float, default=0, help="leave the reader after this many seconds")
    ap.add_argument("--vendor-text", help="hex: a GA/T 467 text block the vendor APDU (FF B0 00 01 00) returns")
    args = ap.parse_args()
    card = json.loads(args.card) if args.card else None
    files = records(card) if card else {}

    deadline = time.time() + 10
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", args.port))
            break
        except OSError:
            if time.time() > deadline:
                sys.exit("vpcd is not listening on 127.0.0.1:%d" % args.port)
            time.sleep(0.1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.hold:
        sock.settimeout(args.hold)
    apdus = 0
    selected = False
    try:
        while True:
            (length,) = struct.unpack(">H", recv_exact(sock, 2))
            msg = recv_exact(sock, length)
            if length == 1:
                if msg[0] == 4:
                    send(sock, ATR)
                continue
            apdus += 1
            if args.remove_after and apdus >= args.remove_after:
                return
            if msg == SELECT_SSSE:
                selected = card is not None and not args.unknown
                send(sock, b"\x90\x00" if selected else b"\x6A\x82")
            elif msg[:2] == b"\x00\xB2" and len(msg) >= 4:
                rec, sfi = msg[2], msg[3] >> 3
                items = files.get(sfi, []) if selected else []
                if 1 <= rec <= len(items):
                    data = items[rec - 1]
                    if args.bad_record and sfi == 6 and rec == 1:
                        data = data[:5]
                    send(sock, data + b"\x90\x00")
                else:
                    send(sock, b"\x6A\x83")
            elif args.vendor_text and msg[:4] == b"\xFF\xB0\x00\x01":
                text = bytes.fromhex(args.vendor_text)
                photo = b"\x57" * 1024
                send(sock, len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text + photo + b"\x90\x00")
            elif msg[:2] == b"\xFF\xCA":
                send(sock, bytes.fromhex("04A1B2C3") + b"\x90\x00")
            else:
                send(sock, b"\x6D\x00")
    except (ConnectionError, socket.timeout):
        pass
    finally:
        sock.close()


if __name__ == "__main__":
    main()
