# sg_add_bpf(NAME SOURCE [DEFINES d...])
#   Compiles SOURCE (a .bpf.c) with clang for the BPF target into NAME.bpf.o and
#   generates NAME.skel.h with `bpftool gen skeleton`. Creates the INTERFACE
#   target NAME_skel whose include directory holds the skeleton.
find_program(SYNGUARD_CLANG NAMES clang clang-14 REQUIRED)
find_program(SYNGUARD_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
execute_process(COMMAND uname -m OUTPUT_VARIABLE SYNGUARD_ARCH OUTPUT_STRIP_TRAILING_WHITESPACE)

function(sg_add_bpf NAME SOURCE)
  cmake_parse_arguments(ARG "" "" "DEFINES;DEPENDS" ${ARGN})
  set(out_dir ${CMAKE_BINARY_DIR}/bpf)
  set(obj ${out_dir}/${NAME}.bpf.o)
  set(skel ${out_dir}/${NAME}.skel.h)
  set(defs)
  foreach(d IN LISTS ARG_DEFINES)
    list(APPEND defs -D${d})
  endforeach()
  file(GLOB headers ${CMAKE_SOURCE_DIR}/bpf/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${SYNGUARD_CLANG} -g -O2 -target bpf -mcpu=v3 -Wall -Werror ${defs}
            -I/usr/include/${SYNGUARD_ARCH}-linux-gnu -I${CMAKE_SOURCE_DIR}/bpf
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${SOURCE} -o ${obj}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${SOURCE} ${headers} ${ARG_DEPENDS}
    COMMENT "BPF ${SOURCE}" VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${SYNGUARD_BPFTOOL} gen skeleton ${obj} name ${NAME} > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${NAME}.skel.h" VERBATIM)
  add_custom_target(${NAME}_skel_gen DEPENDS ${skel})
  add_library(${NAME}_skel INTERFACE)
  add_dependencies(${NAME}_skel ${NAME}_skel_gen)
  target_include_directories(${NAME}_skel INTERFACE ${out_dir} ${CMAKE_SOURCE_DIR}/bpf)
  target_link_libraries(${NAME}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
