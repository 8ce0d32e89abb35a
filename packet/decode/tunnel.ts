/**
 * One encapsulation the Parser went through (outermost first). Preallocated by the Parser
 * and overwritten by each decode(): valid until the next decode().
 */
export class TunnelSlot {
  /** LAYER value: VXLAN, GENEVE, GRE, ERSPAN or TEREDO. */
  type = 0;
  /** VNI (VXLAN, Geneve), GRE key (version 0) or PPTP call id (GRE version 1), ERSPAN session id. */
  id = 0;
  /** False when the header carries no id: GRE without K, ERSPAN type I, Teredo, VXLAN with the I flag clear. */
  hasId = false;
  /** ERSPAN type (1, 2 or 3); GRE version (0 or 1); 0 otherwise. */
  version = 0;
  /** Offset in the frame of what the tunnel carries (after its header): the inner frame or packet. */
  innerOffset = 0;

  set(type: number, id: number, hasId: boolean, version: number, innerOffset: number): void {
    this.type = type;
    this.id = id;
    this.hasId = hasId;
    this.version = version;
    this.innerOffset = innerOffset;
  }
}
