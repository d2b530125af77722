# cmake -DIN=<file> -DOUT=<file.c> -DNAME=<symbol> -P embed.cmake
# Writes OUT defining `const char NAME[]` (the bytes of IN, NUL-terminated)
# and `const size_t NAME_len`, so an asset ships inside the binary.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR len "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" body "${body}")
file(WRITE "${OUT}" "/* generated from ${IN} by embed.cmake */\n#include <stddef.h>\n"
  "const char ${NAME}[] = {\n${body}0x00 };\nconst size_t ${NAME}_len = ${len};\n")
