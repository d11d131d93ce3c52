/* banned.h — functions hapanel's C does not call, after git's banned.h: each
 * is easy to misuse (an unbounded copy, a static buffer shared by every
 * thread, hidden state). Use snprintf, hp_strlcpy, strtok_r, localtime_r and
 * gmtime_r. Every C file includes this last, after the system headers, so a
 * use is a compile error that names the function. */
#ifndef HP_BANNED_H
#define HP_BANNED_H

#define HP_BANNED(func) sorry_##func##_is_banned_in_hapanel

#undef strcpy
#define strcpy(x, y) HP_BANNED(strcpy)
#undef strcat
#define strcat(x, y) HP_BANNED(strcat)
#undef sprintf
#define sprintf(...) HP_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) HP_BANNED(vsprintf)
#undef gets
#define gets(x) HP_BANNED(gets)
#undef strtok
#define strtok(x, y) HP_BANNED(strtok)
#undef localtime
#define localtime(x) HP_BANNED(localtime)
#undef gmtime
#define gmtime(x) HP_BANNED(gmtime)

#endif
