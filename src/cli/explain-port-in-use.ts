import { GatewayError } from '../errors.js';

export interface PortSetting {
  /** What listens there, for the message: "the gateway", "the sandbox". */
  what: string;
  port: number;
  flag: string;
  /** The environment variable that sets the same port, when there is one. */
  env?: string;
}

/**
 * Runs a listen and turns "address already in use" into a message that says which setting moves the port.
 * Node's own error (`listen EADDRINUSE: address already in use 127.0.0.1:4000`) names neither, and the
 * usual cause, another `npm start` still running, is worth a word too. Any other error passes unchanged.
 */
export async function explainPortInUse<T>(setting: PortSetting, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    const how = setting.env ? `${setting.flag} N (or ${setting.env}=N)` : `${setting.flag} N`;
    throw new GatewayError(
      'CONFIG_INVALID',
      `Port ${setting.port} is already in use, so ${setting.what} cannot listen on it. Pick another with ${how}, 0 for any free port, or stop what holds it (another npm start still running?).`,
      { cause: e },
    );
  }
}
