/* atelier-sim: placeholder main. */
int
main(void)
{
	return 1;
}
