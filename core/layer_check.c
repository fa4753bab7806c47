/*
 * layer_check.c — the program of every layer check (core/CMakeLists.txt):
 * it does nothing, but links every object of one layer with that layer's
 * declared dependencies only, so that a call outside them fails the link.
 */
int main(void);

int main(void)
{
        return 0;
}
