/* layer_check.c — the program that links each layer alone (see CMakeLists.txt):
 * nothing runs, the link is the check. */
int main(void)
{
    return 0;
}
