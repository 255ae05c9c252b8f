import { OnEvent } from '@nestjs/event-emitter';
import * as eventEmitter from '@nestjs/event-emitter';

describe('RecordingHandlerRegistry metadata key', () => {
  it('is the key @OnEvent writes', () => {
    class Handler {
      @OnEvent('recording.over')
      on(): void {}
    }
    // The registry reads this key by name because @nestjs/event-emitter 3.x does not export it.
    expect(Reflect.getMetadata('EVENT_LISTENER_METADATA', Handler.prototype.on)).toEqual([
      expect.objectContaining({ event: 'recording.over' }),
    ]);
    // @nestjs/event-emitter 12 (what the suite runs on) exports it: the name must match.
    expect((eventEmitter as Record<string, unknown>).EVENT_LISTENER_METADATA).toBe('EVENT_LISTENER_METADATA');
  });
});
