# Generates the ONNX protobuf classes from onnx.proto at build time.
# Looks for Debian's libonnx-dev copy first, then the Python onnx package's copy.
set(TARMAC_ONNX_PROTO "" CACHE FILEPATH "Path to onnx.proto (found automatically when empty)")
if(NOT TARMAC_ONNX_PROTO)
  if(EXISTS /usr/include/onnx/onnx.proto)
    set(TARMAC_ONNX_PROTO /usr/include/onnx/onnx.proto)
  else()
    find_package(Python3 COMPONENTS Interpreter)
    if(Python3_FOUND)
      execute_process(
        COMMAND ${Python3_EXECUTABLE} -c "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'onnx.proto'))"
        OUTPUT_VARIABLE _py_proto OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(_py_proto AND EXISTS "${_py_proto}")
        set(TARMAC_ONNX_PROTO "${_py_proto}")
      endif()
    endif()
  endif()
endif()
if(NOT TARMAC_ONNX_PROTO OR NOT EXISTS "${TARMAC_ONNX_PROTO}")
  message(FATAL_ERROR "onnx.proto not found: install libonnx-dev or the Python onnx package, "
                      "or pass -DTARMAC_ONNX_PROTO=/path/to/onnx.proto")
endif()
message(STATUS "tarmac: ONNX schema from ${TARMAC_ONNX_PROTO}")

set(_gen_dir ${CMAKE_CURRENT_BINARY_DIR}/generated/onnx)
file(MAKE_DIRECTORY ${_gen_dir})
# Copy under a fixed name so the generated files are always onnx.pb.{h,cc}, and force the
# lite runtime so both copies of the schema generate the same API.
set(_proto_copy ${_gen_dir}/onnx.proto)
add_custom_command(
  OUTPUT ${_gen_dir}/onnx.pb.cc ${_gen_dir}/onnx.pb.h
  COMMAND ${CMAKE_COMMAND} -DIN=${TARMAC_ONNX_PROTO} -DOUT=${_proto_copy}
          -P ${CMAKE_CURRENT_LIST_DIR}/copy_proto.cmake
  COMMAND protobuf::protoc --cpp_out=${_gen_dir} -I${_gen_dir} ${_proto_copy}
  DEPENDS ${TARMAC_ONNX_PROTO} ${CMAKE_CURRENT_LIST_DIR}/copy_proto.cmake
  COMMENT "Generating ONNX protobuf classes")
add_library(tarmac_onnx_proto STATIC ${_gen_dir}/onnx.pb.cc)
target_include_directories(tarmac_onnx_proto PUBLIC ${CMAKE_CURRENT_BINARY_DIR}/generated)
target_link_libraries(tarmac_onnx_proto PUBLIC protobuf::libprotobuf)
set_target_properties(tarmac_onnx_proto PROPERTIES POSITION_INDEPENDENT_CODE ON)
