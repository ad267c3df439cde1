package command

func runFmt(c *cli, args []string) int { return 0 }
