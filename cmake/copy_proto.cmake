# Copies onnx.proto, forcing optimize_for = LITE_RUNTIME so every schema source yields one API.
file(READ ${IN} _text)
string(REGEX REPLACE "option optimize_for = [A-Z_]+;" "" _text "${_text}")
string(APPEND _text "\noption optimize_for = LITE_RUNTIME;\n")
file(WRITE ${OUT} "${_text}")
