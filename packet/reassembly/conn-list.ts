/**
 * Intrusive doubly-linked list of connections (links live in TcpConn), one per timer class:
 * O(1) push, remove and move-to-tail, no allocation. The head is the connection to expire first.
 */
import type { TcpConn } from './tcp-conn.js';

export class ConnList {
  readonly id: number;
  head: TcpConn | null = null;
  tail: TcpConn | null = null;
  size = 0;

  constructor(id: number) {
    this.id = id;
  }

  push(c: TcpConn): void {
    c.list = this.id;
    c.prev = this.tail;
    c.next = null;
    if (this.tail !== null) this.tail.next = c;
    else this.head = c;
    this.tail = c;
    this.size++;
  }

  remove(c: TcpConn): void {
    if (c.prev !== null) c.prev.next = c.next;
    else this.head = c.next;
    if (c.next !== null) c.next.prev = c.prev;
    else this.tail = c.prev;
    c.prev = null;
    c.next = null;
    c.list = 0;
    this.size--;
  }

  moveToTail(c: TcpConn): void {
    if (this.tail === c) return;
    this.remove(c);
    this.push(c);
  }
}
