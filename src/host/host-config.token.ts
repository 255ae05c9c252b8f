/** Injection token of the host app's {@link HostConfig}. */
export const HOST_CONFIG = Symbol('HOST_CONFIG');
