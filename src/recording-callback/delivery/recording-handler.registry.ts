import { Injectable, Logger } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { RecordingEvents } from './recording-events';

/**
 * One `@OnEvent` method of the app that listens to a recording event.
 *
 * @example
 * { id: 'ArchiveService.onFile', invoke: (payload) => archive.onFile(payload) }
 */
export interface RecordingHandler {
  /** `Class.method`, stable across restarts; used to remember which handlers already succeeded. */
  id: string;
  invoke(payload: unknown): Promise<unknown>;
}

const NAMES = new Set<string>(Object.values(RecordingEvents));

/**
 * The metadata key `@OnEvent` writes. @nestjs/event-emitter 12 exports it under this name, but 3.x (the
 * NestJS 11 line) does not export it at all, so it is spelled out here to serve both.
 */
const EVENT_LISTENER_METADATA = 'EVENT_LISTENER_METADATA';

/**
 * Finds the app's `@OnEvent(RecordingEvents.…)` methods (static providers and controllers), so the
 * delivery worker can call each one separately, see its failure, and retry only the ones that failed.
 * EventEmitter2 itself cannot: it runs all listeners of an event together and, by default, swallows errors.
 *
 * @example
 * registry.scan(); registry.handlersOf(RecordingEvents.FileComplete).length;
 */
@Injectable()
export class RecordingHandlerRegistry {
  private readonly logger = new Logger('RecordingCallback');
  private byEvent = new Map<string, RecordingHandler[]>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  scan(): void {
    const byEvent = new Map<string, RecordingHandler[]>();
    const seen = new Set<unknown>();
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias || seen.has(instance)) continue;
      seen.add(instance);
      const prototype = Object.getPrototypeOf(instance);
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method];
        if (typeof fn !== 'function') continue;
        const metadata = Reflect.getMetadata(EVENT_LISTENER_METADATA, fn) as Array<{ event: unknown }> | undefined;
        for (const { event } of metadata ?? []) {
          for (const name of Array.isArray(event) ? event : [event]) {
            if (typeof name === 'string' && name.startsWith('recording.') && name.includes('*')) {
              this.logger.warn(`${wrapper.name}.${method}: wildcard listener ${name} is not called; name each event`);
            }
            if (typeof name !== 'string' || !NAMES.has(name)) continue;
            if (!wrapper.isDependencyTreeStatic()) {
              this.logger.warn(
                `${wrapper.name}.${method}: request-scoped handlers of ${name} are not supported; skipped`,
              );
              continue;
            }
            const list = byEvent.get(name) ?? [];
            const base = `${instance.constructor.name}.${method}`;
            const id = list.some((h) => h.id === base) ? `${base}#${list.length}` : base;
            list.push({ id, invoke: async (payload) => (fn as (p: unknown) => unknown).call(instance, payload) });
            byEvent.set(name, list);
          }
        }
      }
    }
    this.byEvent = byEvent;
  }

  handlersOf(event: string): readonly RecordingHandler[] {
    return this.byEvent.get(event) ?? [];
  }
}
