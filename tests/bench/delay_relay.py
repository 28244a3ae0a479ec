#!/usr/bin/env python3
# delay_relay.py LISTEN_PORT TARGET_PORT DELAY_MS: a TCP relay on 127.0.0.1 that
# delivers each chunk DELAY_MS after it arrived, both ways (a network's latency).
import asyncio, sys, time

LP, TP, D = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000.0

async def pump(reader, writer):
    q = asyncio.Queue()
    async def sender():
        while True:
            t, data = await q.get()
            if data is None:
                break
            dt = t + D - time.monotonic()
            if dt > 0:
                await asyncio.sleep(dt)
            writer.write(data)
            await writer.drain()
        writer.close()
    s = asyncio.ensure_future(sender())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            q.put_nowait((time.monotonic(), data))
    finally:
        q.put_nowait((0, None))
        await s

async def handle(cr, cw):
    sr, sw = await asyncio.open_connection('127.0.0.1', TP)
    await asyncio.gather(pump(cr, sw), pump(sr, cw), return_exceptions=True)

async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', LP)
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
