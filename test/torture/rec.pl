#!/usr/bin/perl
# A process of a torture world (test/torture/) that records every signal it gets.
#   perl <world>/rec.pl <label> [--title T] [--listen] [--chatter] [--shell] [anything else, ignored]
# At start it appends `reg <ms> <label> <pid> <start> <ppid> <uid>` to <world>/registry.log (its
# identity: pid and start time in clock ticks, /proc/self/stat field 22), before anything can
# change its title. Each of SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2 and SIGPIPE is
# appended to <world>/signals.log as `sig <ms> <label> <pid> <start> <SIG> <sender pid> <sender uid>`
# (the sender from siginfo: 0 is the kernel — a terminal that hung up, a pipe whose reader died),
# then the process ends as that signal's default action would. SIGKILL cannot be caught: the world
# sees it as a process gone without a record.
#   --title T  sets $0 = T after registering, as setproctitle-style daemons do: perl overwrites the
#              argv area and the environment after it (/proc/PID/environ no longer holds a marker)
#   --listen   listens on a TCP port of 127.0.0.1 (a dev server)
#   --chatter  writes a line to stdout every 200 ms (a server whose output goes through `| tee`)
#   --shell    reads commands from stdin, one a line, each run as a child (`sh -c`, not waited for):
#              the shell of a multiplexer's pane that a person can type into
#   --fork-on-term  on SIGTERM, SIGHUP or SIGINT it first starts a cleanup child (`<label>.cleanup`,
#              a recorder in a session of its own), as a dev script with a cleanup step does: a
#              process born while it is being reaped
use strict;
use warnings;
use POSIX ();
use Time::HiRes ();
use Fcntl qw(O_WRONLY O_APPEND O_CREAT);

my $world = __FILE__;
$world =~ s{/[^/]*$}{};
my ($label, @rest) = @ARGV;
$label = 'unnamed' unless defined $label && length $label;
my %opt;
for (my $i = 0; $i < @rest; $i++) {
  if ($rest[$i] eq '--title') { $opt{title} = $rest[++$i] }
  elsif ($rest[$i] =~ /^--(listen|chatter|shell|fork-on-term)$/) { $opt{$1} = 1 }
}

sub stat_fields {
  open(my $fh, '<', '/proc/self/stat') or return ();
  my $line = <$fh>;
  close $fh;
  $line =~ s/^.*\) //s;
  return split / /, $line; # [0] is field 3 (state)
}
my @stat = stat_fields();
my ($ppid, $start) = ($stat[1], $stat[19]);
my $ms = sub { int(Time::HiRes::time() * 1000) };

sysopen(my $reg, "$world/registry.log", O_WRONLY | O_APPEND | O_CREAT, 0666) or die "registry: $!";
sysopen(my $rec, "$world/signals.log", O_WRONLY | O_APPEND | O_CREAT, 0666) or die "signals: $!";
my %num = (TERM => POSIX::SIGTERM(), HUP => POSIX::SIGHUP(), INT => POSIX::SIGINT(), QUIT => POSIX::SIGQUIT(), USR1 => POSIX::SIGUSR1(), USR2 => POSIX::SIGUSR2(), PIPE => POSIX::SIGPIPE());
for my $name (keys %num) {
  my $action = POSIX::SigAction->new(
    sub {
      my ($sig, $info) = @_;
      my ($from, $uid) = ($info && defined $info->{pid}) ? ($info->{pid}, $info->{uid}) : ('?', '?');
      syswrite($rec, join(' ', 'sig', $ms->(), $label, $$, $start, "SIG$sig", $from, $uid) . "\n");
      if ($opt{'fork-on-term'} && $sig =~ /^(TERM|HUP|INT)$/) {
        my $child = fork;
        if (defined $child && $child == 0) {
          POSIX::setsid();
          no warnings 'exec';
          exec 'perl', __FILE__, "$label.cleanup";
          POSIX::_exit(127);
        }
      }
      POSIX::_exit(128 + $num{$sig});
    },
    POSIX::SigSet->new,
    POSIX::SA_SIGINFO(),
  );
  $action->safe(0); # run at once, with the sender's siginfo
  POSIX::sigaction($num{$name}, $action) or die "sigaction $name: $!";
}
syswrite($reg, join(' ', 'reg', $ms->(), $label, $$, $start, $ppid, $<) . "\n");

$0 = $opt{title} if defined $opt{title};
my $socket;
if ($opt{listen}) {
  require IO::Socket::INET;
  $socket = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', ReuseAddr => 1);
}
if ($opt{shell}) {
  $SIG{CHLD} = 'IGNORE';
  while (defined(my $line = <STDIN>)) {
    $line =~ s/[\r\n]+$//;
    next unless length $line;
    my $child = fork;
    if (defined $child && $child == 0) {
      no warnings 'exec';
      exec '/bin/sh', '-c', $line;
      POSIX::_exit(127);
    }
  }
}
$| = 1;
while (1) {
  select(undef, undef, undef, $opt{chatter} ? 0.2 : 1000);
  print "tick\n" if $opt{chatter};
}
