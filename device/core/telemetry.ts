// The periodic telemetry message: process CPU, memory, load, SoC temperature and each role's
// figures, and the house clock's sync state where it runs (docs/clock.md), every `telemetry.intervalS` (default 30 s) while connected.
import { PROTOCOL_VERSION, type Topics } from '../../protocol/index.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { DeviceLink } from './device-link.ts';
import { loadavg, socTemperatureC, CpuMeter } from './system-info.ts';

export class TelemetryPublisher {
  private readonly cpu = new CpuMeter();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly d: {
      id: string;
      topics: Topics;
      clock: Clock;
      link(): DeviceLink;
      roles(): Record<string, Record<string, number>>;
      houseClock?(): unknown;
    },
  ) {}

  publish(): void {
    const mem = process.memoryUsage();
    const temp = socTemperatureC();
    this.d.link().publish(
      this.d.topics.telemetry(this.d.id),
      JSON.stringify({
        v: PROTOCOL_VERSION,
        ts: new Date(this.d.clock.wall()).toISOString(),
        uptimeS: Math.round(process.uptime()),
        cpuPct: this.cpu.sample(),
        rssMb: Math.round(mem.rss / 1e5) / 10,
        heapMb: Math.round(mem.heapUsed / 1e5) / 10,
        load1: Math.round(loadavg()[0]! * 100) / 100,
        ...(temp !== undefined ? { temperatureC: temp } : {}),
        roles: this.d.roles(),
        ...(this.d.houseClock ? { clock: this.d.houseClock() } : {}),
      }),
      { qos: 0 },
    );
  }

  schedule(intervalS = 30): void {
    this.d.clock.clearInterval(this.timer);
    this.timer = this.d.clock.setInterval(() => {
      if (this.d.link().connected) this.publish();
    }, intervalS * 1000);
  }

  stop(): void {
    this.d.clock.clearInterval(this.timer);
  }
}
