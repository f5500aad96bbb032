#!/usr/bin/perl
# Debian's Authen::TacacsPlus (libauthen-tacacsplus-perl) as a TACACS+ client for Tally's
# interop tests. Usage: tacacs-login.pl HOST PORT KEY USER PASSWORD ascii|pap|chap
# Prints one line: "PASS", or "FAIL <errmsg>".
use strict;
use warnings;
use Authen::TacacsPlus;
use Digest::MD5 qw(md5);

my ($host, $port, $key, $user, $password, $type) = @ARGV;
my %types = (
  ascii => Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_ASCII(),
  pap   => Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_PAP(),
  chap  => Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_CHAP(),
);
die "unknown type $type\n" unless exists $types{$type};
my $tac = Authen::TacacsPlus->new(Host => $host, Port => $port, Key => $key, Timeout => 5);
unless ($tac) {
  print "FAIL connect: ", Authen::TacacsPlus::errmsg(), "\n";
  exit 0;
}
# The module's CHAP sends what it is given: the caller forms id + challenge + response
# (RFC 1994: response = MD5(id + password + challenge)), as its documentation says.
if ($type eq 'chap') {
  my $id = chr(int(rand(256)));
  my $challenge = join('', map { chr(int(rand(256))) } 1 .. 16);
  $password = $id . $challenge . md5($id . $password . $challenge);
}
if ($tac->authen($user, $password, $types{$type})) {
  print "PASS\n";
} else {
  print "FAIL ", (Authen::TacacsPlus::errmsg() // ""), "\n";
}
$tac->close();
