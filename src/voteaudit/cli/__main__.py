from voteaudit.cli import main

main(prog_name="voteaudit")
