// libxml2 built with ICU would pull the system's ICU headers into Swift beside Foundation's own
// ICU module, and the two clash. Shelf never touches the encoding handler structure that uses
// ICU (only pointers to it), so the ICU part of the headers is left out.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
