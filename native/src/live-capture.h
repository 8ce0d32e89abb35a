// Batch capture from a live interface with libpcap.
//
// One capture thread per handle reads the kernel's TPACKET_V3 ring with pcap_dispatch and
// copies frames into two JS-owned buffer sets ("slots"): a data Buffer and a Float64Array
// of metadata rows [offset, capLen, wireLen, tsSec, tsNsec]. A slot is in one of three
// states:
//
//   kFree     owned by nobody; the capture thread may claim it
//   kFilling  owned by the capture thread, which appends frames to it
//   kJs       handed to JavaScript (one callback per batch); untouched by native code
//             until JS calls release(slot) or returns true from the callback
//
// The thread hands its filling slot to JS once it has drained what the kernel ring holds
// (or the slot is full) and JS holds no other slot, then fills the other one. Under load a
// batch is therefore one or more whole ring blocks, not a few frames: the per-batch costs
// (a thread-safe call, a wakeup, a lock) are paid once per thousands of frames.
//
// With the option layout 'epb' each frame is written as a complete pcapng Enhanced Packet
// Block (header, frame, zero padding to 4 bytes, trailing length): the used part of a slot
// is then a run of EPBs that a pcapng writer appends with one write. Meta rows keep pointing
// at the frame inside its block, so readers of frames see no difference.
//
// pcap_dispatch is bounded by the rows left in the slot only. A frame that does not fit the
// data left goes to a one-frame spill buffer and stops the dispatch (pcap_breakloop); it
// opens the next slot. So a slot fills up to its last byte whatever the snap length, and
// the thread calls into libpcap once per drained ring, not once per 32 frames. While JS is busy, batches grow; when the filling slot is
// full and JS still holds the other, the thread stops reading, so frames queue in the
// kernel ring and, past its size, the kernel drops and counts them (pcap_stats). Native
// memory never grows with load.
#pragma once
#include <napi.h>
#include <pcap/pcap.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace podspan {

class LiveCapture;

// One message from the capture thread to the JS thread.
struct CaptureEvent {
  enum Kind { kBatch = 1, kError = 2 };
  Kind kind;
  int slot;
  size_t count;
  size_t bytes;      // data bytes used in the slot (kBatch)
  size_t truncated;  // frames with capLen < wireLen (kBatch)
  const char* code;
  std::string message;
};

void CaptureCallJs(Napi::Env env, Napi::Function callback, LiveCapture* self, CaptureEvent* ev);

class LiveCapture : public Napi::ObjectWrap<LiveCapture> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit LiveCapture(const Napi::CallbackInfo& info);
  ~LiveCapture() override;

  // Columns of one metadata row, in order: offset, capLen, wireLen, tsSec, tsNsec.
  static constexpr size_t kMetaCols = 5;
  // layout 'epb': bytes of an Enhanced Packet Block before the frame (block type, total
  // length, interface id, timestamp high and low, captured and original length) and after
  // it (total length again), draft-ietf-opsawg-pcapng §4.3.
  static constexpr size_t kEpbHeaderLen = 28;
  static constexpr size_t kEpbTrailerLen = 4;
  static constexpr size_t kEpbMaxOverhead = kEpbHeaderLen + 3 + kEpbTrailerLen;

 private:
  friend void CaptureCallJs(Napi::Env, Napi::Function, LiveCapture*, CaptureEvent*);

  enum class SlotState { kFree, kFilling, kJs };
  struct Slot {
    uint8_t* data = nullptr;
    size_t dataCap = 0;
    double* meta = nullptr;
    size_t rowCap = 0;
    size_t count = 0;
    size_t dataOff = 0;
    size_t truncated = 0;
    SlotState state = SlotState::kFree;
    Napi::Reference<Napi::Value> dataRef;
    Napi::Reference<Napi::Value> metaRef;
  };
  using Tsfn = Napi::TypedThreadSafeFunction<LiveCapture, CaptureEvent, CaptureCallJs>;

  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);
  Napi::Value GetLinkType(const Napi::CallbackInfo& info);
  Napi::Value GetLinkTypeName(const Napi::CallbackInfo& info);
  Napi::Value GetNanoTimestamps(const Napi::CallbackInfo& info);
  Napi::Value GetSnapLen(const Napi::CallbackInfo& info);
  Napi::Value GetWarning(const Napi::CallbackInfo& info);
  Napi::Value GetLayout(const Napi::CallbackInfo& info);

  static void OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes);
  static void OnTsfnFinalize(Napi::Env env, void* data, LiveCapture* self);

  void Run();
  bool SlotFull(const Slot& s) const;
  void PlaceSpill();  // capture thread: the spilled frame opens the (empty) current slot
  bool HandOver(bool force);  // caller holds mu_
  void Wake();
  void ReleaseSlot(int slot);
  void SnapshotStats();  // caller holds pcapMu_
  Napi::Object StatsObject(Napi::Env env, const struct pcap_stat& ps);

  pcap_t* pcap_ = nullptr;
  int pcapFd_ = -1;
  int wakeFd_ = -1;
  int linkType_ = 0;
  size_t snapLen_ = 0;
  bool nano_ = false;
  // layout 'epb': frames are laid out as complete pcapng EPBs for this interface id
  // (timestamps in if_tsresol = 9 units); meta rows still point at the frame bytes.
  bool epb_ = false;
  // Hand a batch over no earlier than this long after its first frame, unless the slot is
  // full (0: as soon as the kernel ring is drained). Fewer, larger batches: the per-batch
  // costs (thread wakeups, the JS call, the write) are paid less often.
  int64_t coalesceNs_ = 0;
  int64_t firstAtNs_ = 0;  // steady clock when the filling slot was first seen non-empty
  uint32_t epbIfaceId_ = 0;
  std::string warning_;

  std::mutex pcapMu_;  // serialises pcap_dispatch, pcap_stats and pcap_close
  std::mutex mu_;      // guards slot states, tsfnDead_ and calls on tsfn_
  Slot slots_[2];
  int cur_ = 0;  // slot the capture thread fills; touched by that thread only
  std::atomic<uint64_t> delivered_{0};  // frames handed to JS
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> ringFull_{0};  // frames with no room in the filling slot (stays 0)
  // One frame that did not fit the filling slot (capture thread only).
  std::vector<uint8_t> spill_;
  bool spillFull_ = false;
  size_t spillBytes_ = 0;  // bytes of the spilled frame (its whole block in layout 'epb')
  size_t spillTruncated_ = 0;
  double spillRow_[kMetaCols] = {};
  struct pcap_stat finalStats_ = {};
  bool haveFinalStats_ = false;

  std::thread thread_;
  std::atomic<bool> closing_{false};
  bool started_ = false;
  bool closed_ = false;
  bool tsfnDead_ = false;
  Tsfn tsfn_;
  std::vector<Napi::Promise::Deferred> closeWaiters_;
};

}  // namespace podspan
