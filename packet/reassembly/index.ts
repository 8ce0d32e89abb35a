/** TCP stream reassembly and IP defragmentation: the pure core (no I/O, no clocks). */
export * from './tcp.js';
export * from './defrag.js';
