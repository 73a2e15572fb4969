// For the Windows build of tests/bpf/packet_builder.cpp (which the core's parser
// tests share with the Linux kernel tests): inet_pton/inet_ntop are in
// Winsock's <ws2tcpip.h> there. Only the Windows test executables see this
// directory.
#pragma once
#include <ws2tcpip.h>
