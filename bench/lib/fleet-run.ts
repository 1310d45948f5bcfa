// The fleet run: N real device runtimes (one fleet process) and one broker process. The fleet
// boots first, against the broker's port while nothing listens there, so each device's own
// start-up work (config store, schema compile) is done before the clock starts — on a real house
// every Pi boots on its own CPU. Then the broker starts; from the moment it accepts connections
// (t0) the devices connect (backoff capped at 100 ms), and a controller provisions each device
// once, with a whole config, as soon as it reports `online`. The run ends at the last successful
// reply (t1). Reported: t1 − t0, and the broker process's CPU seconds (utime + stime) over
// [t0, t1]. The same steps for Aedes (the hearth hub) and Mosquitto.
import { hubBroker, mosquittoBroker, type BrokerKind } from './brokers.ts';
import { connectBenchController } from './controller.ts';
import { fleetId } from './fleet-id.ts';
import { spawnChild, tempDir, removeDir, freePort, waitForLine } from './procs.ts';

export interface FleetResult {
  kind: BrokerKind;
  devices: number;
  totalS: number;
  brokerCpuS: number;
  bootS: number;
}

export async function runFleet(o: {
  kind: BrokerKind;
  devices: number;
  cli: string;
  fleetScript: string;
  timeoutMs?: number;
}): Promise<FleetResult> {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const broker = o.kind === 'aedes' ? hubBroker(o.cli, port) : mosquittoBroker(port);
  const dir = tempDir(`hearth-bench-fleet-${o.kind}-`);
  const fleet = spawnChild(process.execPath, [o.fleetScript, '--n', String(o.devices), '--url', url, '--dir', dir, '--prefix', 'fleet'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let ctl: Awaited<ReturnType<typeof connectBenchController>> | undefined;
  try {
    const booted = await waitForLine(fleet, /^booted (\d+)$/, 30_000 + o.devices * 300);
    const bootS = Number(booted[1]) / 1000;

    await broker.start();
    const t0 = performance.now();
    const cpu0 = broker.cpuS();

    ctl = await connectBenchController(url);
    const ids = new Set(Array.from({ length: o.devices }, (_, i) => fleetId('fleet', i)));
    const started = new Set<string>();
    const replies: Array<Promise<void>> = [];
    let failure: Error | undefined;
    const c = ctl;
    let off = () => {};
    let timer: NodeJS.Timeout | undefined;
    const allDone = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`fleet on ${o.kind}: only ${started.size} of ${o.devices} devices came online within ${o.timeoutMs ?? 60_000} ms`),
          ),
        o.timeoutMs ?? 60_000,
      );
      // With replay: the retained `online` of devices that connected before this subscription.
      off = c.onStatus((device, status) => {
        if (status !== 'online' || !ids.has(device) || started.has(device)) return;
        started.add(device);
        const i = Number(device.slice(device.lastIndexOf('-') + 1));
        const config = {
          v: 2,
          id: device,
          name: `Room ${i}`,
          mqtt: { url, reconnectMinMs: 50, reconnectMaxMs: 100 },
          telemetry: { intervalS: 60 },
          roles: {},
        };
        replies.push(
          c.configSet(device, { config }, o.timeoutMs ?? 60_000).then(
            (r) => {
              if (!r.ok) failure ??= new Error(`${device} refused its config: ${r.error?.code} ${r.error?.message}`);
            },
            (e: Error) => {
              failure ??= e;
            },
          ),
        );
        if (started.size === o.devices) resolve();
      }, true);
    });
    try {
      await allDone;
    } finally {
      clearTimeout(timer);
      off();
    }
    await Promise.all(replies);
    if (failure) throw failure;
    const t1 = performance.now();
    const brokerCpuS = broker.cpuS() - cpu0;
    return { kind: o.kind, devices: o.devices, totalS: (t1 - t0) / 1000, brokerCpuS, bootS };
  } finally {
    await ctl?.close().catch(() => {});
    await fleet.stop(5000);
    await broker.dispose();
    removeDir(dir);
  }
}
