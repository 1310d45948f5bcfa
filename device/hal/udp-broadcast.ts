// UDP broadcast out of this host, for magic packets (port 9 or 7). Rules: `send()` resolves once
// the datagram is handed to the kernel (or rejects with the OS error); broadcast addresses are
// allowed; `close()` is safe to call twice. Broadcast needs no extra capability.
export interface UdpBroadcast {
  send(payload: Buffer, address: string, port: number): Promise<void>;
  close(): void;
}

export type UdpBroadcastFactory = () => UdpBroadcast | Promise<UdpBroadcast>;

declare module './overrides.ts' {
  interface HalOverrides {
    udpBroadcast?: UdpBroadcastFactory;
  }
}
