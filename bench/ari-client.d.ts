/** The few parts of the untyped npm `ari-client` package the comparison app uses. */
declare module 'ari-client' {
  interface Channel {
    id: string;
    answer(): Promise<void>;
    hangup(): Promise<void>;
  }
  interface Client {
    on(event: 'StasisStart', handler: (event: unknown, channel: Channel) => void): void;
    start(apps: string | string[]): Promise<void>;
    stop(): void;
  }
  const Ari: { connect(url: string, username: string, password: string): Promise<Client> };
  namespace Ari {
    export type { Client, Channel };
  }
  export default Ari;
}
