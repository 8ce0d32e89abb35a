// A UDP socket that crosses the native boundary once per batch, both ways.
//
// Sending: sendBatch() hands many datagrams to the kernel with sendmmsg(2) (up to 1024 per
// system call), each datagram gathered from two iovecs: a shared header Buffer (the VXLAN
// header) and a slice of one batch Buffer (a captured frame); nothing is concatenated or
// copied in user space. Every datagram goes to the destination the socket is connected to
// (connect(2) at open: the kernel caches the route, and ICMP port unreachable comes back
// as ECONNREFUSED, counted). It runs synchronously on the JS thread on a non-blocking
// socket, so the caller's Buffers may be reused as soon as it returns. EAGAIN (send buffer
// full) waits for POLLOUT and ENOBUFS (device queue full) backs off 16 us .. 1 ms, both
// within a per-call budget (maxWaitMs); when the budget is spent the call returns with
// `busy` set and `next` at the first datagram not sent: the caller counts the rest as
// dropped. It never loops without sleeping and never blocks longer than the budget.
// EMSGSIZE skips that datagram (counted tooBig); any other error stops the batch and is
// returned with its errno.
//
// Receiving: a thread reads with recvmmsg(2) (up to 64 datagrams per call) and copies
// the datagrams into two JS-owned slots, the same double-slot protocol as LiveCapture
// (live-capture.h): a data Buffer, a Float64Array of rows
// [offset, len, family, srcAddr, srcPort, tsSec, tsNsec] and a Buffer of 16 bytes per row
// holding the IPv6 source address (family 6 only). The thread hands a slot over once the
// socket is drained (or the slot is full) and JS holds no other slot, so under load a batch
// is everything that arrived meanwhile. One JS callback per batch; the slot is
// JS's until release(slot) or until the callback returns true. While JS holds one slot and
// the other is full, the thread stops reading: datagrams queue in the socket receive
// buffer and, past SO_RCVBUF, the kernel drops and counts them. That count arrives with
// every datagram as an SO_RXQ_OVFL control message and is also read with SO_MEMINFO in
// stats(), so drops show even when nothing arrives after them. Receive timestamps are the
// kernel's (SO_TIMESTAMPNS), taken when the datagram reached the socket.
//
// Lifetime: close() stops the thread (an eventfd wakes it), no callback runs once close()
// has been called, and the promise resolves when the thread has left. The descriptor is
// closed on the JS thread only, so sendBatch() and stats() never race with it.
#pragma once
#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace podspan {

constexpr const char* kErrUdpSocket = "PODSPAN_ERR_UDP_SOCKET";
constexpr const char* kErrUdpBind = "PODSPAN_ERR_UDP_BIND";
constexpr const char* kErrUdpRecv = "PODSPAN_ERR_UDP_RECV";

class UdpBatchSocket;

struct UdpEvent {
  enum Kind { kBatch = 1, kError = 2 };
  Kind kind;
  int slot;
  size_t count;
  std::string message;
  int err;
};

void UdpCallJs(Napi::Env env, Napi::Function callback, UdpBatchSocket* self, UdpEvent* ev);

class UdpBatchSocket : public Napi::ObjectWrap<UdpBatchSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit UdpBatchSocket(const Napi::CallbackInfo& info);
  ~UdpBatchSocket() override;

  // Columns of one receive row: offset, len, family, srcAddr, srcPort, tsSec, tsNsec.
  static constexpr size_t kMetaCols = 7;
  // Bytes per row of the IPv6 source address buffer.
  static constexpr size_t kAddrBytes = 16;

 private:
  friend void UdpCallJs(Napi::Env, Napi::Function, UdpBatchSocket*, UdpEvent*);

  enum class SlotState { kFree, kFilling, kJs };
  struct Slot {
    uint8_t* data = nullptr;
    size_t dataCap = 0;
    double* meta = nullptr;
    size_t rowCap = 0;
    uint8_t* addr = nullptr;
    size_t count = 0;
    size_t dataOff = 0;
    SlotState state = SlotState::kFree;
    Napi::Reference<Napi::Value> dataRef;
    Napi::Reference<Napi::Value> metaRef;
    Napi::Reference<Napi::Value> addrRef;
  };
  using Tsfn = Napi::TypedThreadSafeFunction<UdpBatchSocket, UdpEvent, UdpCallJs>;

  Napi::Value SendBatch(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);
  Napi::Value GetLocalAddress(const Napi::CallbackInfo& info);
  Napi::Value GetLocalPort(const Napi::CallbackInfo& info);
  Napi::Value GetFamily(const Napi::CallbackInfo& info);
  Napi::Value GetRcvBufBytes(const Napi::CallbackInfo& info);
  Napi::Value GetSndBufBytes(const Napi::CallbackInfo& info);

  static void OnTsfnFinalize(Napi::Env env, void* data, UdpBatchSocket* self);

  void Run();
  bool SlotFull(const Slot& s) const;
  bool HandOver(bool force);  // caller holds mu_
  void Wake();
  void ReleaseSlot(int slot);
  uint64_t KernelDrops();  // JS thread; SO_MEMINFO, or the last SO_RXQ_OVFL value
  void CloseFd();

  int fd_ = -1;
  int wakeFd_ = -1;
  int family_ = 0;
  bool connected_ = false;
  size_t maxDatagram_ = 0;
  int rcvBuf_ = 0;
  int sndBuf_ = 0;
  std::string localAddress_;
  int localPort_ = 0;

  // Send side (JS thread only): preallocated sendmmsg arrays.
  std::vector<struct mmsghdr> sendMsgs_;
  std::vector<struct iovec> sendIov_;
  uint64_t sentTotal_ = 0;
  uint64_t sendBusy_ = 0;

  // Receive side (receive thread only, except under mu_).
  std::vector<uint8_t> scratch_;
  std::mutex mu_;  // guards slot states, tsfnDead_ and calls on tsfn_
  Slot slots_[2];
  int cur_ = 0;
  std::atomic<uint64_t> received_{0};   // datagrams read from the socket
  std::atomic<uint64_t> delivered_{0};  // datagrams handed to JS
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> truncated_{0};  // longer than maxDatagram: cut (MSG_TRUNC)
  std::atomic<uint64_t> rxqOvfl_{0};    // last SO_RXQ_OVFL value seen
  uint64_t finalDrops_ = 0;

  std::thread thread_;
  std::atomic<bool> closing_{false};
  bool started_ = false;
  bool closed_ = false;
  bool tsfnDead_ = false;
  Tsfn tsfn_;
  std::vector<Napi::Promise::Deferred> closeWaiters_;
};

}  // namespace podspan
