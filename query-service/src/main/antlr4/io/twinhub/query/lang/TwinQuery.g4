/*
 * IoT Hub's query language for device and module twins (PROTOCOL.md "Query language"),
 * plus ORDER BY. Keywords and function names are case-insensitive; paths, strings and
 * aliases are case-sensitive. The parse tree is turned into the AST by QueryParser.
 */
grammar TwinQuery;

query
  : selectClause fromClause whereClause? groupByClause? orderByClause? SEMI? EOF
  ;

selectClause
  : SELECT (TOP top=NUMBER)? selectList
  ;

selectList
  : STAR                                   # selectStar
  | selectItem (',' selectItem)*           # selectItems
  ;

// Without AS an alias must not be a keyword: "SELECT x FROM" is not x aliased FROM.
selectItem
  : expr alias?
  ;

alias
  : AS name
  | IDENTIFIER
  ;

fromClause
  : FROM collection=path alias?
  ;

whereClause
  : WHERE expr
  ;

groupByClause
  : GROUP BY expr (',' expr)*
  ;

orderByClause
  : ORDER BY orderItem (',' orderItem)*
  ;

orderItem
  : expr (dir=(ASC | DESC))?
  ;

// Alternatives listed first bind tighter (ANTLR 4 precedence climbing).
expr
  : primary                                                  # primaryExpr
  | op=('-' | '+') expr                                      # unaryExpr
  | expr op=('*' | '/' | '%') expr                           # mulExpr
  | expr op=('+' | '-') expr                                 # addExpr
  | expr op=('=' | '!=' | '<>' | '<' | '<=' | '>' | '>=') expr # compareExpr
  | expr (in=IN | nin=NIN | not=NOT IN) list                 # inExpr
  | NOT expr                                                 # notExpr
  | expr AND expr                                            # andExpr
  | expr OR expr                                             # orExpr
  ;

primary
  : literal                                  # literalPrimary
  | fn=IDENTIFIER '(' (expr (',' expr)*)? ')' # callPrimary
  | path                                     # pathPrimary
  | array                                    # arrayPrimary
  | '(' expr ')'                             # parenPrimary
  ;

array
  : '[' (expr (',' expr)*)? ']'
  ;

// IN ['a', 'b'] as IoT Hub writes it, or IN ('a', 'b') as SQL does.
list
  : array
  | '(' expr (',' expr)* ')'
  ;

path
  : IDENTIFIER segment*
  ;

segment
  : '.' name                    # dotSegment
  | '[' STRING ']'              # bracketSegment
  ;

// Keywords are fine as property names after a dot (tags.order, properties.reported.top).
name
  : IDENTIFIER | keyword
  ;

keyword
  : SELECT | TOP | AS | FROM | WHERE | GROUP | BY | ORDER | ASC | DESC | AND | OR | NOT | IN | NIN
  | TRUE | FALSE | NULL | UNDEFINED
  ;

literal
  : STRING                      # stringLiteral
  | NUMBER                      # numberLiteral
  | TRUE                        # trueLiteral
  | FALSE                       # falseLiteral
  | NULL                        # nullLiteral
  | UNDEFINED                   # undefinedLiteral
  ;

SELECT : S E L E C T ;
TOP    : T O P ;
AS     : A S ;
FROM   : F R O M ;
WHERE  : W H E R E ;
GROUP  : G R O U P ;
BY     : B Y ;
ORDER  : O R D E R ;
ASC    : A S C ;
DESC   : D E S C ;
AND    : A N D ;
OR     : O R ;
NOT    : N O T ;
IN     : I N ;
NIN    : N I N ;
TRUE   : T R U E ;
FALSE  : F A L S E ;
NULL   : N U L L ;
UNDEFINED : U N D E F I N E D ;

STAR : '*' ;
SEMI : ';' ;

NUMBER
  : '0' [xX] HEX+
  | DIGIT+ ('.' DIGIT*)? EXPONENT?
  | '.' DIGIT+ EXPONENT?
  ;

// Single or double quotes; a quote is doubled ('it''s') or escaped (\'), as are \\ \n \t \r \b \f \/ \uXXXX.
STRING
  : '\'' ( ~['\\\r\n] | '\'\'' | ESCAPE )* '\''
  | '"' ( ~["\\\r\n] | '""' | ESCAPE )* '"'
  ;

// $ starts the twin's system properties ($metadata, $version, $lastUpdated).
IDENTIFIER : [a-zA-Z_$] [a-zA-Z0-9_$]* ;

WS : [ \t\r\n]+ -> skip ;

// Anything else becomes one token, so the parser reports it with its position.
UNEXPECTED : . ;

fragment ESCAPE : '\\' ( ['"\\/bfnrt] | 'u' HEX HEX HEX HEX ) ;
fragment HEX : [0-9a-fA-F] ;
fragment DIGIT : [0-9] ;
fragment EXPONENT : [eE] [+-]? DIGIT+ ;
fragment A : [aA] ; fragment B : [bB] ; fragment C : [cC] ; fragment D : [dD] ; fragment E : [eE] ;
fragment F : [fF] ; fragment G : [gG] ; fragment H : [hH] ; fragment I : [iI] ; fragment L : [lL] ;
fragment M : [mM] ; fragment N : [nN] ; fragment O : [oO] ; fragment P : [pP] ; fragment R : [rR] ;
fragment S : [sS] ; fragment T : [tT] ; fragment U : [uU] ; fragment W : [wW] ; fragment Y : [yY] ;
