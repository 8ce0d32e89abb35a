{
  # Built by `npm ci` (npm runs `node-gyp rebuild` when a binding.gyp is at the root).
  # Needs libpcap-dev (scripts/install-system-deps.sh installs it).
  "targets": [
    {
      "target_name": "podspan_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/capture-error.cc",
        "native/src/live-capture.cc",
        "native/src/raw-ip-socket.cc",
        "native/src/packet-injector.cc",
        "native/src/udp-batch.cc",
        "native/src/netns.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "libraries": ["-lpcap"]
    }
  ]
}
