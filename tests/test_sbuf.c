/* test_sbuf.c — the buffer and its HTML escaping. */
#include <stdlib.h>

#include "check.h"
#include "core/sbuf.h"

int main(void)
{
    sbuf b = SBUF_INIT;
    size_t len;
    char *s;
    int i;

    sbuf_html(&b, "<script>alert('x')</script> & \"q\"");
    CHECK_STR(b.buf, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    sbuf_release(&b);
    for (i = 0; i < 10000; i++)
        sbuf_printf(&b, "%d,", i);
    CHECK(!sbuf_failed(&b));
    CHECK(b.len > 40000);
    s = sbuf_detach(&b, &len);
    CHECK(s && len > 40000 && s[len] == '\0');
    CHECK(b.buf == NULL && b.len == 0);
    free(s);
    s = sbuf_detach(&b, &len); /* empty buffer gives an empty string */
    CHECK(s && len == 0 && s[0] == '\0');
    free(s);
    return check_done();
}
