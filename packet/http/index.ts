/** HTTP/1 message framing over reassembled byte streams: the pure core (no I/O, no clocks). */
export * from './http1.js';
export * from './exchange.js';
