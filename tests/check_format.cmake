# Fails when any C++ file of the project differs from what clang-format makes of it.
file(GLOB_RECURSE sources
  "${SOURCE_DIR}/cmd/*.cpp" "${SOURCE_DIR}/cmd/*.hpp"
  "${SOURCE_DIR}/lib/*.cpp" "${SOURCE_DIR}/lib/*.hpp"
  "${SOURCE_DIR}/tests/*.cpp" "${SOURCE_DIR}/tests/*.hpp"
  "${SOURCE_DIR}/bench/*.cpp")
execute_process(
  COMMAND "${CLANG_FORMAT}" --dry-run --Werror ${sources}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "clang-format: files above need formatting (run clang-format -i)")
endif()
